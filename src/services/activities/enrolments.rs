//! Enrolling a child in an activity (their guardian, or staff on their behalf): confirmed up to
//! the capacity, else waiting in order; the age range is checked on the first session's day.
//! Withdrawing (the guardian) or removing (staff) moves the first waiting child up.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Viewer, visible};
use crate::auth::Principal;
use crate::domain::activity::fits_age;
use crate::domain::places::PlaceStatus;
use crate::domain::time_zone::TimeZone;
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store;
use crate::store::StoreError;
use crate::store::activities::enrolments::{EnrolmentRow, NewEnrolment};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolInput {
    pub child_id: Uuid,
}

#[derive(Debug, Serialize)]
pub struct EnrolmentView {
    pub id: Uuid,
    pub activity_id: Uuid,
    pub child_id: Uuid,
    pub child_name: String,
    pub status: PlaceStatus,
    /// 1 for the first on the waiting list; null unless waiting.
    pub position: Option<i64>,
    pub enrolled_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct LeaveView {
    pub enrolment: EnrolmentView,
    /// The waiting enrolment confirmed in the freed place.
    pub promoted: Option<EnrolmentView>,
}

fn view(e: EnrolmentRow) -> EnrolmentView {
    EnrolmentView {
        id: e.id,
        activity_id: e.activity_id,
        child_id: e.child_id,
        child_name: e.child_name,
        status: e.status,
        position: e.position,
        enrolled_by: e.enrolled_by,
        created_at: e.created_at,
        updated_at: e.updated_at,
    }
}

pub async fn enrol(
    ctx: &AppState,
    p: &Principal,
    activity_id: Uuid,
    input: EnrolInput,
) -> ServiceResult<EnrolmentView> {
    let (a, who) = visible(ctx, p, activity_id).await?;
    let child = match store::registry::residents::get(&ctx.db, input.child_id).await {
        Ok(c) if c.community_id == a.community_id => Some(c),
        Ok(_) | Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let child = match (who, child) {
        (Viewer::Staff, Some(c)) => c,
        (Viewer::Staff, None) => return Err(field_error("child_id", "unknown_reference")),
        // Not the caller's child: to them it does not exist.
        (_, Some(c))
            if store::activities::guardians::is_guardian(&ctx.db, c.id, p.user_id).await? =>
        {
            c
        }
        _ => return Err(ServiceError::NotFound),
    };
    let sessions = store::activities::plans::sessions(&ctx.db, a.id).await?;
    if let Some(first) = sessions.first() {
        let c = store::registry::communities::get(&ctx.db, a.community_id).await?;
        let tz = TimeZone::parse(&c.time_zone).unwrap_or_default().tz();
        let on = first.starts_at.with_timezone(&tz).date_naive();
        fits_age(child.birth_date, on, a.min_age, a.max_age)
            .map_err(ServiceError::Unprocessable)?;
    }
    let n = NewEnrolment {
        id: Uuid::now_v7(),
        activity_id,
        community_id: a.community_id,
        child_id: child.id,
        enrolled_by: p.user_id,
        at: store::now(),
    };
    match store::activities::enrolments::enrol(&ctx.db, &n).await {
        Ok(row) => Ok(view(row)),
        Err(StoreError::Conflict) => Err(ServiceError::Conflict("already_enrolled")),
        Err(e) => Err(e.into()),
    }
}

/// Staff and carers see every enrolment; a guardian those of their own children.
pub async fn list(
    ctx: &AppState,
    p: &Principal,
    activity_id: Uuid,
) -> ServiceResult<Vec<EnrolmentView>> {
    let (_, who) = visible(ctx, p, activity_id).await?;
    let only = (who == Viewer::Member).then_some(p.user_id);
    let rows = store::activities::enrolments::of_activity(&ctx.db, activity_id, only).await?;
    Ok(rows.into_iter().map(view).collect())
}

/// The enrolment, to staff of its community and to the child's guardians.
async fn own_or_staff(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(EnrolmentRow, bool)> {
    let e = store::activities::enrolments::get(&ctx.db, id).await?;
    if !p.is_member(e.community_id) {
        return Err(ServiceError::NotFound);
    }
    if p.is_staff(e.community_id) {
        return Ok((e, true));
    }
    if store::activities::guardians::is_guardian(&ctx.db, e.child_id, p.user_id).await? {
        return Ok((e, false));
    }
    Err(ServiceError::NotFound)
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<EnrolmentView> {
    Ok(view(own_or_staff(ctx, p, id).await?.0))
}

/// The guardian withdraws (`withdrawn`), staff remove (`removed`); the first waiting child moves
/// up into a freed place.
pub async fn withdraw(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<LeaveView> {
    let (e, staff) = own_or_staff(ctx, p, id).await?;
    let to = if staff {
        PlaceStatus::Removed
    } else {
        PlaceStatus::Withdrawn
    };
    let (row, promoted) =
        store::activities::enrolments::leave(&ctx.db, &e, to, store::now()).await?;
    Ok(LeaveView {
        enrolment: view(row),
        promoted: promoted.map(view),
    })
}
