//! Mobilisations (一呼百应): staff plan and move them through their lifecycle (`mobilisations`);
//! volunteers, or staff on their behalf, sign up for their slots (`signups`).
//!
//! May use: `registry` (communities, volunteers, teams: who is in a mobilisation's audience).

pub mod attendance;
pub mod mobilisations;
pub mod responses;
pub mod signups;

use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::mobilisation::Status;
use crate::domain::role::Role;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;
use crate::store::mobilisation::mobilisations::Mobilisation;

/// Who the caller is to a mobilisation's community.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Viewer {
    Staff,
    Volunteer(Uuid),
}

/// The caller's standing in `community`: staff, an active volunteer, or nobody (404 outside the
/// community, 403 for its other members).
pub(crate) async fn viewer(
    ctx: &AppState,
    p: &Principal,
    community: Uuid,
) -> ServiceResult<Viewer> {
    if p.is_staff(community) {
        return Ok(Viewer::Staff);
    }
    if p.has(Role::Volunteer, community)
        && let Some(v) =
            store::requests::candidates::volunteer_of_user(&ctx.db, p.user_id, community).await?
    {
        return Ok(Viewer::Volunteer(v));
    }
    Err(crate::services::registry::communities::deny(p, community))
}

/// Whether the volunteer is in the audience: an active volunteer, of any chosen grid, team or
/// skill (everyone when none is chosen), whatever their weekly hours.
pub(crate) async fn in_audience(
    ctx: &AppState,
    m: &store::mobilisation::mobilisations::MobilisationRow,
    volunteer_id: Uuid,
) -> ServiceResult<bool> {
    let call = responses::call(ctx, m.community_id, &m.audience.0, None).await?;
    Ok(store::mobilisation::responses::reaches(&ctx.db, &call.reach(), volunteer_id).await?)
}

/// The mobilisation, to staff of its community and to the volunteers of its audience once
/// published; to anyone else it does not exist.
pub(crate) async fn visible(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(Mobilisation, Viewer)> {
    let m = store::mobilisation::mobilisations::get(&ctx.db, id).await?;
    if !p.is_member(m.row.community_id) {
        return Err(ServiceError::NotFound);
    }
    let who = viewer(ctx, p, m.row.community_id).await.map_err(|e| {
        if e.is_refusal() {
            ServiceError::NotFound
        } else {
            e
        }
    })?;
    if let Viewer::Volunteer(v) = who
        && (!m.row.status.is_public() || !in_audience(ctx, &m.row, v).await?)
    {
        return Err(ServiceError::NotFound);
    }
    Ok((m, who))
}

/// Sign-ups change only while a mobilisation runs.
pub(crate) fn running(s: Status) -> bool {
    matches!(s, Status::Published | Status::Closed)
}
