//! Mobilisations (一呼百应): staff plan and move them through their lifecycle (`mobilisations`);
//! volunteers, or staff on their behalf, sign up for their slots (`signups`).
//!
//! May use: `registry` (communities, volunteers, teams: who is in a mobilisation's audience).

pub mod attendance;
pub mod mobilisations;
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

/// Whether the volunteer is in the audience: everyone when no grid, team or skill is named,
/// else any one of them matching.
pub(crate) async fn in_audience(
    ctx: &AppState,
    m: &store::mobilisation::mobilisations::MobilisationRow,
    volunteer_id: Uuid,
) -> ServiceResult<bool> {
    let v = store::registry::volunteers::get(&ctx.db, volunteer_id).await?;
    if v.status != crate::domain::volunteer::VolunteerStatus::Active {
        return Ok(false);
    }
    let a: mobilisations::Audience =
        serde_json::from_value(m.audience.0.clone()).unwrap_or_default();
    if a.grid_ids.is_empty() && a.team_ids.is_empty() && a.skills.is_empty() {
        return Ok(true);
    }
    if v.home_grid_id.is_some_and(|g| a.grid_ids.contains(&g)) {
        return Ok(true);
    }
    if v.skills.split(',').any(|s| a.skills.iter().any(|k| k == s)) {
        return Ok(true);
    }
    for t in &a.team_ids {
        if store::registry::teams::get(&ctx.db, *t)
            .await?
            .member_ids
            .contains(&volunteer_id)
        {
            return Ok(true);
        }
    }
    Ok(false)
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
    let who = viewer(ctx, p, m.row.community_id)
        .await
        .map_err(|_| ServiceError::NotFound)?;
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
