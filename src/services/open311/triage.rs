//! 审单: staff triage of Open311 requests whose caller matched no resident. Dispatchers and the
//! community's admins (and deployment admins) list them, look one up, link it to a resident,
//! which places the help request under the same id (so the Open311 `service_request_id` keeps
//! following it), or turn it down with a reason that Open311 shows in `status_notes`.
//! Integration clients never triage: these are staff operations.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::geo::Coordinates;
use crate::domain::mask::mask_phone;
use crate::domain::open311::caller_name;
use crate::services::registry::communities::{deny, visible};
use crate::services::requests::actions::reason;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store::open311::{self as store_open311, IntakeRow, Settle};
use crate::store::{self, StoreError};

/// What staff see of a request in triage: enough to find the caller in the registry. The
/// phone is masked as everywhere else a caller's number is shown.
#[derive(Debug, Serialize)]
pub struct IntakeView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub client_id: Uuid,
    pub state: String,
    pub service_type_id: Uuid,
    pub service_code: String,
    pub service_name: String,
    pub caller_name: Option<String>,
    pub phone: Option<String>,
    pub address_string: Option<String>,
    pub location: Option<Coordinates>,
    pub description: Option<String>,
    pub urgency: Option<String>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    pub reject_reason: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

fn view(r: IntakeRow, service: (String, String)) -> IntakeView {
    IntakeView {
        id: r.id,
        community_id: r.community_id,
        client_id: r.client_id,
        caller_name: caller_name(r.last_name.as_deref(), r.first_name.as_deref()),
        phone: r.phone.as_deref().map(mask_phone),
        address_string: r.address_string,
        location: Coordinates::from_columns(r.lat, r.lng),
        state: r.state,
        service_type_id: r.service_type_id,
        service_code: service.0,
        service_name: service.1,
        description: r.description,
        urgency: r.urgency,
        window_start: r.window_start,
        window_end: r.window_end,
        reject_reason: r.reject_reason,
        requested_at: r.created_at,
        updated_at: r.updated_at,
        version: r.version,
    }
}

async fn service_of(ctx: &AppState, id: Uuid) -> ServiceResult<(String, String)> {
    let st = store::registry::service_types::get(&ctx.db, id).await?;
    Ok((st.code, st.name))
}

/// Station staff of the community; a client or anyone else of it is 403, outsiders 404.
async fn triager(ctx: &AppState, p: &Principal, community: Uuid) -> ServiceResult<()> {
    visible(ctx, p, community).await?;
    if p.is_client() || !p.is_staff(community) {
        return Err(deny(p, community));
    }
    Ok(())
}

/// The intake `id` if the caller may triage it: 404 when unknown or of a community the caller
/// is not in.
async fn triaged(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<IntakeRow> {
    let row = store_open311::get_intake(&ctx.db, id).await?;
    if !p.is_member(row.community_id) {
        return Err(ServiceError::NotFound);
    }
    triager(ctx, p, row.community_id).await?;
    Ok(row)
}

#[derive(Debug)]
pub struct ListQuery {
    pub state: Option<String>,
}

/// The community's requests waiting in triage, newest first.
pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community: Uuid,
    q: ListQuery,
    page: PageRequest,
) -> ServiceResult<Page<IntakeView>> {
    triager(ctx, p, community).await?;
    // Only the queue is listed; what left it is followed through its help request or Open311.
    if q.state.as_deref().is_some_and(|s| s != "pending") {
        return Err(field_error("state", "invalid"));
    }
    let rows = store_open311::pending(&ctx.db, community, page.after, page.fetch_limit()).await?;
    let mut names = std::collections::HashMap::new();
    for r in &rows {
        if let std::collections::hash_map::Entry::Vacant(e) = names.entry(r.service_type_id) {
            e.insert(service_of(ctx, r.service_type_id).await?);
        }
    }
    Ok(page.page(
        rows,
        |r| r.id,
        |r| {
            let s = names[&r.service_type_id].clone();
            view(r, s)
        },
    ))
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<IntakeView> {
    let r = triaged(ctx, p, id).await?;
    let s = service_of(ctx, r.service_type_id).await?;
    Ok(view(r, s))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    pub resident_id: Uuid,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectInput {
    #[serde(default)]
    pub reason: Option<String>,
}

const SETTLED: &str = "open311_request_settled";

fn still_pending(r: &IntakeRow) -> ServiceResult<()> {
    if r.state != "pending" {
        return Err(ServiceError::Conflict(SETTLED));
    }
    Ok(())
}

async fn audit(
    ctx: &AppState,
    p: &Principal,
    r: &IntakeRow,
    action: &str,
    reason: Option<&str>,
) -> ServiceResult<()> {
    store::audit::insert(
        &ctx.db,
        store::audit::NewAudit {
            community_id: Some(r.community_id),
            actor_id: Some(p.user_id),
            action,
            object_type: "open311_request",
            object_id: Some(r.id),
            reason,
            request_id: None,
        },
    )
    .await?;
    Ok(())
}

/// Links the request to an active resident of its community: the help request is placed for
/// them (channel `third_party`, on behalf of the client that posted it, under the same id) in
/// one transaction with the intake leaving triage; 409 when it already left.
pub async fn link(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: LinkInput,
) -> ServiceResult<IntakeView> {
    let intake = triaged(ctx, p, id).await?;
    let resident = match store::registry::residents::get(&ctx.db, input.resident_id).await {
        Ok(r) if r.active && r.community_id == intake.community_id => r,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(field_error("resident_id", "unknown_reference"));
        }
        Err(e) => return Err(e.into()),
    };
    still_pending(&intake)?;
    let st = store::registry::service_types::get(&ctx.db, intake.service_type_id).await?;
    let settle = Settle {
        id: intake.id,
        version: intake.version,
        state: "placed",
        reason: None,
    };
    let now = store::now();
    match super::requests::place(ctx, intake.client_id, &resident, &st, &intake, &settle, now).await
    {
        Ok(()) => {}
        // Someone linked it first: the help request with this id exists already.
        Err(ServiceError::Conflict(_)) => return Err(ServiceError::Conflict(SETTLED)),
        Err(e) => return Err(e),
    }
    audit(ctx, p, &intake, "open311_request.link", None).await?;
    get_after(ctx, intake.id, (st.code, st.name)).await
}

/// Turns the request down: Open311 shows it closed, with the reason; 409 when it already left.
pub async fn reject(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: RejectInput,
) -> ServiceResult<IntakeView> {
    let intake = triaged(ctx, p, id).await?;
    let why = reason("reason", input.reason.as_deref())?;
    still_pending(&intake)?;
    store_open311::reject(
        &ctx.db,
        &Settle {
            id: intake.id,
            version: intake.version,
            state: "rejected",
            reason: Some(why.clone()),
        },
    )
    .await?;
    audit(ctx, p, &intake, "open311_request.reject", Some(&why)).await?;
    let s = service_of(ctx, intake.service_type_id).await?;
    get_after(ctx, intake.id, s).await
}

async fn get_after(
    ctx: &AppState,
    id: Uuid,
    service: (String, String),
) -> ServiceResult<IntakeView> {
    let r = store_open311::get_intake(&ctx.db, id).await?;
    Ok(view(r, service))
}
