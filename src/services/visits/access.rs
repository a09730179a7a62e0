//! Who may do what with a visit: its team (the plan's care team, or the grid's workers for a
//! visit outside any plan), staff, and the grid worker of its grid.

use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::role::Role;
use crate::services::registry::grids::serves;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;
use crate::store::visits::visits::{VisitRow, VisitWithResident};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VisitAccess {
    Staff,
    GridWorker,
    Team,
}

/// A visit's team: its plan's care team, or for a visit outside any plan, its grid's workers.
async fn on_team(ctx: &AppState, v: &VisitRow, user_id: Uuid) -> ServiceResult<bool> {
    Ok(match (v.plan_id, v.grid_id) {
        (Some(plan), _) => store::visits::plans::members(&ctx.db, plan)
            .await?
            .iter()
            .any(|m| m.user_id == user_id),
        (None, grid) => serves(ctx, user_id, v.community_id, grid).await?,
    })
}

async fn access(ctx: &AppState, p: &Principal, v: &VisitRow) -> ServiceResult<Option<VisitAccess>> {
    let c = v.community_id;
    if !p.is_member(c) {
        return Ok(None);
    }
    if on_team(ctx, v, p.user_id).await? {
        return Ok(Some(VisitAccess::Team));
    }
    if p.is_staff(c) {
        return Ok(Some(VisitAccess::Staff));
    }
    if p.has(Role::GridWorker, c) && serves(ctx, p.user_id, c, v.grid_id).await? {
        return Ok(Some(VisitAccess::GridWorker));
    }
    Ok(None)
}

pub(super) async fn load(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(VisitWithResident, VisitAccess)> {
    let v = store::visits::visits::get(&ctx.db, id).await?;
    match access(ctx, p, &v.visit).await? {
        Some(a) => Ok((v, a)),
        None => Err(ServiceError::NotFound),
    }
}

pub(super) fn team_only(a: VisitAccess) -> ServiceResult<()> {
    if a == VisitAccess::Team {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("not_on_team"))
    }
}
