//! What a caller sees of a help request and its timeline: personal details only for those who
//! stand to it, the resident's phone in full only to the assignee serving them (audited).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::geo::Coordinates;
use crate::domain::help_request::{Channel, DispatchMode, Origin, PlacedAs, Status};
use crate::domain::mask::mask_phone;
use crate::domain::urgency::Urgency;
use crate::services::requests::access::{Access, load, load_full};
use crate::services::{Page, PageRequest, ServiceResult};
use crate::state::AppState;
use crate::store;
use crate::store::requests::help_requests::HelpRequestRow;

/// The resident as the caller may see them on a request.
#[derive(Debug, Clone, Serialize)]
pub struct ResidentBrief {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssigneeBrief {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HelpRequestView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    /// Present for staff, the grid worker, the resident, and the assignee while serving.
    pub resident: Option<ResidentBrief>,
    pub grid_id: Option<Uuid>,
    pub service_type_id: Uuid,
    pub placed_by: Option<Uuid>,
    pub placed_as: PlacedAs,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub channel: Channel,
    pub origin: Origin,
    pub urgency: Urgency,
    pub description: String,
    pub address: Option<String>,
    pub location: Option<Coordinates>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    pub status: Status,
    pub dispatch_mode: DispatchMode,
    pub attempts: i64,
    pub assignee_id: Option<Uuid>,
    /// Who is coming, for those who see the request's details: the volunteer's name and
    /// their phone masked (the station puts calls through).
    pub assignee: Option<AssigneeBrief>,
    pub respond_by: DateTime<Utc>,
    pub resolve_by: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub resolution_note: Option<String>,
    pub close_reason: Option<String>,
    pub overdue: bool,
    pub respond_overdue: bool,
    pub resolve_overdue: bool,
    pub rating: Option<i64>,
    pub solved: Option<bool>,
    pub reopen_count: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<HelpRequestView> {
    let (r, a, brief) = load_full(ctx, p, id).await?;
    let v = view_with(r, a, brief)?;
    audit_full_read(ctx, p, &v, a).await?;
    Ok(v)
}

pub(crate) async fn view(
    ctx: &AppState,
    p: &Principal,
    r: HelpRequestRow,
    a: Access,
) -> ServiceResult<HelpRequestView> {
    let res = store::registry::residents::get(&ctx.db, r.resident_id).await?;
    let assignee = match r.assignee_id {
        Some(v) => Some(store::registry::volunteers::get(&ctx.db, v).await?),
        None => None,
    };
    let brief = store::requests::help_requests::ResidentBrief {
        resident_name: res.name,
        resident_phone: res.phone,
        resident_address: res.address,
        resident_user_id: res.user_id,
        assignee_name: assignee.as_ref().map(|v| v.name.clone()),
        assignee_phone: assignee.and_then(|v| v.phone),
    };
    let v = view_with(r, a, brief)?;
    audit_full_read(ctx, p, &v, a).await?;
    Ok(v)
}

pub(crate) fn view_with(
    r: HelpRequestRow,
    a: Access,
    res: store::requests::help_requests::ResidentBrief,
) -> ServiceResult<HelpRequestView> {
    let status = r.status;
    let serving = matches!(a, Access::Volunteer(v) if r.assignee_id == Some(v)
        && matches!(status, Status::Accepted | Status::InProgress));
    let details = !matches!(a, Access::Volunteer(_)) || serving;
    let resident = if details {
        // The assignee calls the resident; everyone else sees the number masked.
        let phone = match res.resident_phone {
            Some(ph) if serving => Some(ph),
            Some(ph) => Some(mask_phone(&ph)),
            None => None,
        };
        Some(ResidentBrief {
            id: r.resident_id,
            name: res.resident_name,
            phone,
            address: res.resident_address,
        })
    } else {
        None
    };
    let staffish = matches!(a, Access::Staff | Access::GridWorker);
    // A cancelled request has nobody assigned any more; its timeline keeps who was.
    let assignee_id = r.assignee_id.filter(|_| status != Status::Cancelled);
    let assignee = match (assignee_id, res.assignee_name) {
        (Some(id), Some(name)) if details => Some(AssigneeBrief {
            id,
            name,
            phone: res.assignee_phone.as_deref().map(mask_phone),
        }),
        _ => None,
    };
    Ok(HelpRequestView {
        id: r.id,
        community_id: r.community_id,
        resident_id: r.resident_id,
        resident,
        grid_id: r.grid_id,
        service_type_id: r.service_type_id,
        placed_by: r.placed_by,
        placed_as: r.placed_as,
        caller_name: if staffish { r.caller_name } else { None },
        caller_phone: if staffish {
            r.caller_phone.as_deref().map(mask_phone)
        } else {
            None
        },
        channel: r.channel,
        origin: r.origin,
        urgency: r.urgency,
        description: r.description,
        address: if details { r.address } else { None },
        location: if details {
            Coordinates::from_columns(r.lat, r.lng)
        } else {
            None
        },
        window_start: r.window_start,
        window_end: r.window_end,
        status: r.status,
        dispatch_mode: r.dispatch_mode,
        attempts: r.attempts,
        assignee_id,
        assignee,
        respond_by: r.respond_by,
        resolve_by: r.resolve_by,
        responded_at: r.responded_at,
        started_at: r.started_at,
        completed_at: r.completed_at,
        closed_at: r.closed_at,
        resolution_note: r.resolution_note,
        close_reason: r.close_reason,
        overdue: r.respond_overdue || r.resolve_overdue,
        respond_overdue: r.respond_overdue,
        resolve_overdue: r.resolve_overdue,
        rating: r.rating,
        solved: r.solved,
        reopen_count: r.reopen_count,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// The assignee reads the resident's phone in full to serve them; like every full read of
/// personal data, it goes to the audit log.
pub(crate) async fn audit_full_read(
    ctx: &AppState,
    p: &Principal,
    v: &HelpRequestView,
    a: Access,
) -> ServiceResult<()> {
    if !matches!(a, Access::Volunteer(_)) || v.resident.is_none() {
        return Ok(());
    }
    let reason = format!("serving help request {}", v.id);
    store::audit::insert(
        &ctx.db,
        store::audit::NewAudit {
            community_id: Some(v.community_id),
            actor_id: Some(p.user_id),
            action: "resident.read_for_service",
            object_type: "resident",
            object_id: Some(v.resident_id),
            reason: Some(&reason),
            request_id: None,
        },
    )
    .await?;
    Ok(())
}

/// Timeline entries whose details anyone who sees the request may read.
const PUBLIC_EVENT_DATA: &[&str] = &[
    "placed",
    "triage_accepted",
    "triage_rejected",
    "accepted",
    "claimed",
    "started",
    "completed",
    "closed",
    "auto_closed",
    "reopened",
    "cancelled",
    "escalated",
    "reminder",
    "overdue",
];

#[derive(Debug, Serialize)]
pub struct EventView {
    pub id: Uuid,
    pub kind: String,
    pub actor_id: Option<Uuid>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub data: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// The timeline (every event with actor and time), oldest first.
pub async fn timeline(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    page: PageRequest,
) -> ServiceResult<Page<EventView>> {
    let (r, a) = load(ctx, p, id).await?;
    let rows =
        store::requests::listing::timeline(&ctx.db, r.id, page.after, page.fetch_limit()).await?;
    let staff = a == Access::Staff;
    Ok(page.page(
        rows,
        |e| e.id,
        |e| EventView {
            id: e.id,
            // Everyone sees what happened; only staff see who else was offered, the scores, and
            // volunteers' reasons for declining or returning.
            data: if staff || PUBLIC_EVENT_DATA.contains(&e.kind.as_str()) {
                e.data.0
            } else {
                json!({})
            },
            kind: e.kind,
            actor_id: e.actor_id,
            from_status: e.from_status,
            to_status: e.to_status,
            at: e.at,
        },
    ))
}
