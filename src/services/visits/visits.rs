//! 未呼先应: visits from "my visits" to done — reading and listing them, starting and
//! cancelling them, the lifecycle helpers every action shares — and major changes in a
//! resident's life with the visit each brings. Completion, generation and access have their
//! own files.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::access::{VisitAccess, load, team_only};
use super::generation::ad_hoc_visit;
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::mask::mask_phone;
use crate::domain::text::Description;
use crate::domain::visit::{Action, Condition, ContactKind, MajorChange, Reason, Status, next};
use crate::services::registry::residents::{self, ResidentAccess};
use crate::services::requests::actions::{ReasonInput, reason};
use crate::services::requests::view::ResidentBrief;
use crate::services::visits::grading::policy_and_zone;
use crate::services::visits::plans::team_scope;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::audit::NewAudit;
use crate::store::visits::visits::{
    MajorChangeRow, VisitChange, VisitEvent, VisitFilter, VisitRow, VisitWithResident,
};
use crate::store::{self, StoreError};

#[derive(Debug, Serialize)]
pub struct VisitView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident: ResidentBrief,
    pub grid_id: Option<Uuid>,
    pub plan_id: Option<Uuid>,
    pub reason: Reason,
    pub contact_kind: ContactKind,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub status: Status,
    pub started_at: Option<DateTime<Utc>>,
    pub started_by: Option<Uuid>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<Uuid>,
    /// Completed within its window.
    pub on_time: Option<bool>,
    pub performed_contact_kind: Option<ContactKind>,
    pub duration_minutes: Option<i64>,
    pub condition: Option<Condition>,
    pub observations: Option<String>,
    pub cancel_reason: Option<String>,
    /// The help requests made of the needs found on this visit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_request_ids: Option<Vec<Uuid>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MajorChangeInput {
    pub kind: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct MajorChangeView {
    pub id: Uuid,
    pub resident_id: Uuid,
    pub kind: String,
    pub description: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub reported_by: Uuid,
    pub at: DateTime<Utc>,
    pub visit: VisitView,
}

#[derive(Debug, Deserialize)]
pub struct VisitQuery {
    pub community_id: Option<Uuid>,
    /// Only the visits whose team the caller is on (我的走访).
    #[serde(default)]
    pub mine: bool,
    pub status: Option<String>,
    pub resident_id: Option<Uuid>,
    pub grid_id: Option<Uuid>,
    pub plan_id: Option<Uuid>,
    pub due_from: Option<DateTime<Utc>>,
    pub due_to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub(super) fn view(v: VisitWithResident, full_phone: bool, needs: Option<Vec<Uuid>>) -> VisitView {
    let r = v.visit;
    VisitView {
        id: r.id,
        community_id: r.community_id,
        resident: ResidentBrief {
            id: r.resident_id,
            name: v.resident_name,
            phone: if full_phone {
                v.resident_phone
            } else {
                v.resident_phone.as_deref().map(mask_phone)
            },
            address: v.resident_address,
        },
        grid_id: r.grid_id,
        plan_id: r.plan_id,
        reason: r.reason,
        contact_kind: r.contact_kind,
        window_start: r.window_start,
        window_end: r.window_end,
        on_time: r.completed_at.map(|c| c <= r.window_end),
        status: r.status,
        started_at: r.started_at,
        started_by: r.started_by,
        completed_at: r.completed_at,
        completed_by: r.completed_by,
        performed_contact_kind: r.performed_contact_kind,
        duration_minutes: r.duration_minutes,
        condition: r.condition,
        observations: r.observations,
        cancel_reason: r.cancel_reason,
        need_request_ids: needs,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// One visit. Its team sees the resident's phone in full (they are to call or visit), and
/// each such read is audited.
pub async fn get(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    request_id: Option<&str>,
) -> ServiceResult<VisitView> {
    let (v, a) = load(ctx, p, id).await?;
    let full = a == VisitAccess::Team && v.resident_phone.is_some();
    if full {
        store::audit::insert(
            &ctx.db,
            NewAudit {
                community_id: Some(v.visit.community_id),
                actor_id: Some(p.user_id),
                action: "resident.reveal",
                object_type: "resident",
                object_id: Some(v.visit.resident_id),
                reason: Some("visit team"),
                request_id,
            },
        )
        .await?;
    }
    let needs = store::visits::visits::needs(&ctx.db, v.visit.id).await?;
    Ok(view(v, full, Some(needs)))
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    q: VisitQuery,
    page: PageRequest,
) -> ServiceResult<Page<VisitView>> {
    let community_id = crate::services::community_of_list(p, q.community_id)?;
    let mut f = Fields::new();
    if let Some(s) = &q.status {
        f.check("status", Status::parse(s));
    }
    for (field, t) in [("due_from", q.due_from), ("due_to", q.due_to)] {
        if t.is_some_and(|t| !crate::services::sane_time(t)) {
            f.push(field, "out_of_range");
        }
    }
    if let (Some(a), Some(b)) = (q.due_from, q.due_to)
        && b <= a
    {
        f.push("due_to", "before_start");
    }
    if !f.is_empty() {
        return Err(ServiceError::Validation(f.into_errors()));
    }
    let visible_to = team_scope(p, community_id)?;
    let filter = VisitFilter {
        community_id,
        status: q.status,
        resident_id: q.resident_id,
        grid_id: q.grid_id,
        plan_id: q.plan_id,
        due_from: q.due_from,
        due_to: q.due_to,
        assigned_to: q.mine.then_some(p.user_id),
        visible_to,
    };
    let rows =
        store::visits::visits::list(&ctx.db, &filter, page.after, page.fetch_limit()).await?;
    Ok(page.page(rows, |v| v.visit.id, |v| view(v, false, None)))
}

/// Applies a lifecycle action to the visit as read; 409 when someone moved it meanwhile.
pub(super) fn moved(v: &VisitRow, action: Action, now: DateTime<Utc>) -> ServiceResult<VisitRow> {
    let to = next(v.status, action).map_err(ServiceError::Conflict)?;
    Ok(VisitRow {
        status: to,
        updated_at: now,
        ..v.clone()
    })
}

pub(super) fn stale(e: StoreError) -> ServiceError {
    match e {
        StoreError::StaleVersion => ServiceError::Conflict("state_changed"),
        other => other.into(),
    }
}

pub(super) fn event(
    v: &VisitRow,
    kind: &'static str,
    actor: Uuid,
    data: serde_json::Value,
) -> VisitEvent {
    VisitEvent {
        visit_id: v.id,
        community_id: v.community_id,
        kind,
        actor_id: Some(actor),
        data,
        at: v.updated_at,
    }
}

pub(super) fn opened(v: &VisitRow, now: DateTime<Utc>) -> ServiceResult<()> {
    if now < v.window_start {
        return Err(ServiceError::Conflict("visit_not_open"));
    }
    Ok(())
}

pub async fn start(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<VisitView> {
    let (v, a) = load(ctx, p, id).await?;
    team_only(a)?;
    let now = store::now();
    let mut n = moved(&v.visit, Action::Start, now)?;
    opened(&v.visit, now)?;
    n.started_at = Some(now);
    n.started_by = Some(p.user_id);
    let change = VisitChange {
        visit: &n,
        expected_version: v.visit.version,
        event: event(&n, "started", p.user_id, json!({})),
        needs: &[],
        grade: None,
        follow_up: None,
        hours: None,
    };
    store::visits::visits::apply(&ctx.db, &change)
        .await
        .map_err(stale)?;
    let saved = store::visits::visits::get(&ctx.db, id).await?;
    Ok(view(saved, false, None))
}

/// Staff cancel a visit that will not happen, with the reason.
pub async fn cancel(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: ReasonInput,
) -> ServiceResult<VisitView> {
    let (v, _) = load(ctx, p, id).await?;
    if !p.is_staff(v.visit.community_id) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let reason = reason("reason", input.reason.as_deref())?;
    let now = store::now();
    let mut n = moved(&v.visit, Action::Cancel, now)?;
    n.cancel_reason = Some(reason.clone());
    let change = VisitChange {
        visit: &n,
        expected_version: v.visit.version,
        event: event(&n, "cancelled", p.user_id, json!({"reason": reason})),
        needs: &[],
        grade: None,
        follow_up: None,
        hours: None,
    };
    store::visits::visits::apply(&ctx.db, &change)
        .await
        .map_err(stale)?;
    Ok(view(
        store::visits::visits::get(&ctx.db, id).await?,
        false,
        None,
    ))
}

/// A major change in a resident's life (discharge, bereavement, a fall): a visit within the
/// policy's hours, by the plan's team or, without a plan, the grid's workers.
pub async fn report_major_change(
    ctx: &AppState,
    p: &Principal,
    resident_id: Uuid,
    input: MajorChangeInput,
) -> ServiceResult<MajorChangeView> {
    let (r, access) = residents::load_for(ctx, p, resident_id).await?;
    if access == ResidentAccess::Own {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let now = store::now();
    let mut f = Fields::new();
    let kind = f.check("kind", MajorChange::parse(&input.kind));
    let description = f.check_opt(
        "description",
        input.description.as_deref(),
        Description::parse,
    );
    if let Some(t) = input.occurred_at
        && (!crate::services::sane_time(t) || t > now + Duration::minutes(5))
    {
        f.push("occurred_at", "out_of_range");
    }
    let (Some(kind), Some(description)) = (kind, description) else {
        return Err(ServiceError::Validation(f.into_errors()));
    };
    if !f.is_empty() {
        return Err(ServiceError::Validation(f.into_errors()));
    }
    if !r.active {
        return Err(ServiceError::Conflict("resident_inactive"));
    }
    let (policy, _) = policy_and_zone(ctx, r.community_id).await?;
    let plan = store::visits::plans::active_plan(&ctx.db, r.id).await?;
    let due = now + Duration::hours(i64::from(policy.visit.major_change_within_hours));
    let visit = ad_hoc_visit(
        r.community_id,
        r.id,
        r.grid_id,
        plan.as_ref(),
        Reason::MajorChange,
        now,
        due,
    );
    let m = MajorChangeRow {
        id: Uuid::now_v7(),
        community_id: r.community_id,
        resident_id: r.id,
        kind: kind.as_str().to_string(),
        description: description.map(|d| d.into_inner()),
        occurred_at: input.occurred_at,
        reported_by: p.user_id,
        visit_id: visit.id,
        at: now,
    };
    store::visits::visits::report_major_change(&ctx.db, &m, &visit).await?;
    let saved = store::visits::visits::get(&ctx.db, visit.id).await?;
    Ok(MajorChangeView {
        id: m.id,
        resident_id: m.resident_id,
        kind: m.kind,
        description: m.description,
        occurred_at: m.occurred_at,
        reported_by: m.reported_by,
        at: m.at,
        visit: view(saved, false, None),
    })
}
