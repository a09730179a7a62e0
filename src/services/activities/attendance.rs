//! Sessions as they happen: a carer (or staff) signs a confirmed child in; the child is signed
//! out only to a guardian or an authorised pick-up person, matched by phone, and recorded by
//! name and time. The sweep raises `activity.pickup_overdue` for a child still signed in 30
//! minutes after the session's end; the attendance report reads it all per session.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::plans::run_session;
use super::runs;
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::activity::{PICKUP_GRACE_MINUTES, SessionStatus};
use crate::domain::certificate::mask_name;
use crate::domain::phone::Phone;
use crate::domain::places::PlaceStatus;
use crate::domain::text::Name;
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store;
use crate::store::activities::attendance::{AttendanceRow, Pickup};
use crate::store::activities::enrolments::EnrolmentRow;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInInput {
    pub enrolment_id: Uuid,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickedUpBy {
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignOutInput {
    pub enrolment_id: Uuid,
    pub picked_up_by: PickedUpBy,
}

#[derive(Debug, Serialize)]
pub struct PickedUpView {
    pub name: String,
    /// Masked.
    pub phone: String,
    /// `guardian` or `pickup_person`.
    #[serde(rename = "as")]
    pub as_: String,
}

#[derive(Debug, Serialize)]
pub struct AttendanceView {
    pub id: Uuid,
    pub session_id: Uuid,
    pub enrolment_id: Uuid,
    pub child_id: Uuid,
    pub child_name: String,
    pub signed_in_at: DateTime<Utc>,
    pub signed_in_by: Uuid,
    pub signed_out_at: Option<DateTime<Utc>>,
    pub signed_out_by: Option<Uuid>,
    pub picked_up_by: Option<PickedUpView>,
    pub alerted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct SessionReport {
    pub session_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: SessionStatus,
    pub enrolled: i64,
    pub signed_in: i64,
    pub signed_out: i64,
    pub children: Vec<AttendanceView>,
}

#[derive(Debug, Serialize)]
pub struct AttendanceReport {
    pub activity_id: Uuid,
    pub sessions: Vec<SessionReport>,
}

fn view(a: AttendanceRow) -> AttendanceView {
    let picked_up_by = match (
        a.picked_up_by_name,
        a.picked_up_by_phone_masked,
        a.picked_up_as,
    ) {
        (Some(name), Some(phone), Some(as_)) => Some(PickedUpView { name, phone, as_ }),
        _ => None,
    };
    AttendanceView {
        id: a.id,
        session_id: a.session_id,
        enrolment_id: a.enrolment_id,
        child_id: a.child_id,
        child_name: a.child_name,
        signed_in_at: a.signed_in_at,
        signed_in_by: a.signed_in_by,
        signed_out_at: a.signed_out_at,
        signed_out_by: a.signed_out_by,
        picked_up_by,
        alerted_at: a.alerted_at,
    }
}

/// The enrolment named in a session's request: of this activity, and confirmed.
async fn enrolment_of(ctx: &AppState, activity_id: Uuid, id: Uuid) -> ServiceResult<EnrolmentRow> {
    let e = match store::activities::enrolments::get(&ctx.db, id).await {
        Ok(e) if e.activity_id == activity_id => e,
        Ok(_) | Err(store::StoreError::NotFound) => {
            return Err(field_error("enrolment_id", "unknown_reference"));
        }
        Err(e) => return Err(e.into()),
    };
    if e.status != PlaceStatus::Confirmed {
        return Err(ServiceError::Conflict("not_confirmed"));
    }
    Ok(e)
}

pub async fn sign_in(
    ctx: &AppState,
    p: &Principal,
    session_id: Uuid,
    input: SignInInput,
) -> ServiceResult<AttendanceView> {
    let (s, a) = run_session(ctx, p, session_id).await?;
    let e = enrolment_of(ctx, a.id, input.enrolment_id).await?;
    let row = store::activities::attendance::sign_in(
        &ctx.db,
        Uuid::now_v7(),
        &s,
        e.id,
        e.child_id,
        p.user_id,
        store::now(),
    )
    .await?;
    Ok(view(row))
}

/// Who may take the child: a guardian (by the phone of their resident record) or a pick-up
/// person on the child's list (by the keyed hash of the phone). The name recorded is the one on
/// file, so a record says who it was whatever was typed.
async fn authorised(
    ctx: &AppState,
    child_id: Uuid,
    phone: &Phone,
) -> ServiceResult<Option<(String, &'static str)>> {
    for (name, p) in store::activities::guardians::guardian_phones(&ctx.db, child_id).await? {
        if p.and_then(|p| Phone::parse(p).ok()).as_ref() == Some(phone) {
            return Ok(Some((name, "guardian")));
        }
    }
    let hash = ctx.vault.lookup_hash(phone.as_str());
    Ok(
        store::activities::guardians::pickup_by_phone(&ctx.db, child_id, &hash)
            .await?
            .map(|p| (p.name, "pickup_person")),
    )
}

pub async fn sign_out(
    ctx: &AppState,
    p: &Principal,
    session_id: Uuid,
    input: SignOutInput,
) -> ServiceResult<AttendanceView> {
    let (s, a) = run_session(ctx, p, session_id).await?;
    let mut f = Fields::new();
    f.check("picked_up_by.name", Name::parse(&input.picked_up_by.name));
    let phone = f.check(
        "picked_up_by.phone",
        Phone::parse(&input.picked_up_by.phone),
    );
    let phone = f.finish(|| phone)?;
    let e = enrolment_of(ctx, a.id, input.enrolment_id).await?;
    let Some((name, as_)) = authorised(ctx, e.child_id, &phone).await? else {
        return Err(ServiceError::Conflict("pickup_not_authorised"));
    };
    let pickup = Pickup {
        by: p.user_id,
        name,
        phone_masked: phone.masked(),
        as_,
        at: store::now(),
    };
    let row = store::activities::attendance::sign_out(&ctx.db, s.id, e.id, &pickup).await?;
    Ok(view(row))
}

/// Per session: how many are enrolled (confirmed now), signed in, signed out, and by whom.
pub async fn report(
    ctx: &AppState,
    p: &Principal,
    activity_id: Uuid,
) -> ServiceResult<AttendanceReport> {
    let a = runs(ctx, p, activity_id).await?;
    let sessions = store::activities::plans::sessions(&ctx.db, a.id).await?;
    let mut rows = store::activities::attendance::of_activity(&ctx.db, a.id).await?;
    let mut out = Vec::with_capacity(sessions.len());
    for s in sessions {
        let (mine, rest): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.session_id == s.id);
        rows = rest;
        let signed_out = mine.iter().filter(|r| r.signed_out_at.is_some()).count() as i64;
        out.push(SessionReport {
            session_id: s.id,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            status: s.status,
            enrolled: a.confirmed,
            signed_in: mine.len() as i64,
            signed_out,
            children: mine.into_iter().map(view).collect(),
        });
    }
    Ok(AttendanceReport {
        activity_id: a.id,
        sessions: out,
    })
}

/// The sweeper's step: every child still signed in 30 minutes after their session's end raises
/// `activity.pickup_overdue` once. Costs what is due (the partial index); a record another
/// instance alerted first is skipped by the conditional update. Returns how many it raised.
pub async fn sweep(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<usize> {
    let cutoff = now - Duration::minutes(PICKUP_GRACE_MINUTES);
    let mut raised = 0;
    loop {
        let due = store::activities::attendance::overdue(&ctx.db, cutoff, 200).await?;
        let batch = due.len();
        for a in due {
            // The notice names the activity and the session's end, never the child.
            let title = store::activities::plans::get(&ctx.db, a.activity_id)
                .await?
                .title;
            let event_id = Uuid::now_v7();
            let at = store::now();
            let payload = json!({
                "event_id": event_id,
                "activity_id": a.activity_id,
                "session_id": a.session_id,
                "community_id": a.community_id,
                "kind": "pickup_overdue",
                "data": {
                    "enrolment_id": a.enrolment_id,
                    "child_id": a.child_id,
                    "child_name_masked": mask_name(&a.child_name),
                    "session_ends_at": a.session_ends_at,
                    "signed_in_at": a.signed_in_at,
                    "title": title,
                    "ends_at": a.session_ends_at,
                },
                "at": at,
            });
            if store::activities::attendance::alert(&ctx.db, &a, event_id, payload, at).await? {
                raised += 1;
            }
        }
        if batch < 200 {
            return Ok(raised);
        }
    }
}
