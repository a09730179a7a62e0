//! Who stands how to one help request: staff, the grid worker, the resident it is for, or a
//! volunteer serving or offered it. Anyone else does not see it at all.

use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::help_request::{Action, Origin, next};
use crate::domain::role::Role;
use crate::domain::scope::Scope;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;
use crate::store::requests::help_requests::{HelpRequestRow, ResidentBrief};

/// How the caller stands to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Staff,
    /// Grid worker of the request's grid.
    GridWorker,
    /// The resident the request is for.
    Resident,
    /// A volunteer with an open offer, the assignee, or (proactive needs) a possible claimer.
    Volunteer(Uuid),
    /// An integration client of the community with a requests scope: every request of the
    /// community, with the resident's numbers masked and none of staff's details.
    Client,
}

/// How the caller stands to `r`, whose resident's account is `resident_user`; `None`: not at all.
pub(crate) async fn access(
    ctx: &AppState,
    p: &Principal,
    r: &HelpRequestRow,
    resident_user: Option<Uuid>,
) -> ServiceResult<Option<Access>> {
    let c = r.community_id;
    if p.is_staff(c) {
        return Ok(Some(Access::Staff));
    }
    if p.client_may(Scope::RequestsRead, c) || p.client_may(Scope::RequestsWrite, c) {
        return Ok(Some(Access::Client));
    }
    if p.has(Role::GridWorker, c)
        && let Some(g) = r.grid_id
        && store::registry::grids::worker_grids(&ctx.db, p.user_id, c)
            .await?
            .contains(&g)
    {
        return Ok(Some(Access::GridWorker));
    }
    if p.has(Role::Resident, c) && resident_user == Some(p.user_id) {
        return Ok(Some(Access::Resident));
    }
    if p.has(Role::Volunteer, c)
        && let Some(v) =
            store::requests::candidates::volunteer_of_user(&ctx.db, p.user_id, c).await?
    {
        let open_offer = store::requests::offers::offers(&ctx.db, r.id)
            .await?
            .iter()
            .any(|o| o.volunteer_id == v && o.answer.is_none());
        // A proactive need is open to every volunteer while the lifecycle allows a claim.
        let claimable = r.origin == Origin::Proactive && next(r.status, Action::Claim).is_ok();
        if r.assignee_id == Some(v) || open_offer || claimable {
            return Ok(Some(Access::Volunteer(v)));
        }
    }
    Ok(None)
}

/// Loads a request the caller may see; 404 for any other.
pub async fn load(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(HelpRequestRow, Access)> {
    let (r, a, _) = load_full(ctx, p, id).await?;
    Ok((r, a))
}

/// `load` with the resident's brief, read in the same round trip.
pub(crate) async fn load_full(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(HelpRequestRow, Access, ResidentBrief)> {
    let full = store::requests::help_requests::get_with_resident(&ctx.db, id).await?;
    match access(ctx, p, &full.request, full.resident.resident_user_id).await? {
        Some(a) => Ok((full.request, a, full.resident)),
        None => Err(ServiceError::NotFound),
    }
}

/// The volunteer the caller is, when they are this request's assignee.
pub(crate) fn assignee(r: &HelpRequestRow, a: Access) -> ServiceResult<Uuid> {
    match a {
        Access::Volunteer(v) if r.assignee_id == Some(v) => Ok(v),
        _ => Err(ServiceError::Forbidden("not_assignee")),
    }
}
