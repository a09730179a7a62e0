//! Activities (一小): staff plan classes, childcare (托管) and events with their sessions
//! (`plans`); staff record the guardians of child residents and who may pick a child up
//! (`guardians`); guardians enrol their children (`enrolments`); carers sign children in and
//! out of sessions, and a child not picked up raises an alert (`attendance`).
//!
//! May use: `registry` (communities, residents, volunteers), `records` (pending hours).

pub mod attendance;
pub mod enrolments;
pub mod guardians;
pub mod plans;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;
use crate::store::activities::plans::ActivityRow;

/// Who teaches or cares: volunteers (whose hours a held session records) and staff users.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carers {
    #[serde(default)]
    pub volunteer_ids: Vec<Uuid>,
    #[serde(default)]
    pub user_ids: Vec<Uuid>,
}

impl Carers {
    pub(crate) fn of(a: &ActivityRow) -> Self {
        serde_json::from_value(a.carers.0.clone()).unwrap_or_default()
    }
}

/// Who the caller is to an activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Viewer {
    Staff,
    /// A volunteer or user named among the carers.
    Carer,
    /// Any other member of the community (residents, guardians), once published.
    Member,
}

pub(crate) async fn is_carer(
    ctx: &AppState,
    p: &Principal,
    a: &ActivityRow,
) -> ServiceResult<bool> {
    let c = Carers::of(a);
    if c.user_ids.contains(&p.user_id) {
        return Ok(true);
    }
    if c.volunteer_ids.is_empty() {
        return Ok(false);
    }
    let v =
        store::requests::candidates::volunteer_of_user(&ctx.db, p.user_id, a.community_id).await?;
    Ok(v.is_some_and(|v| c.volunteer_ids.contains(&v)))
}

/// The activity, to staff of its community, to its carers, and to the community's members once
/// published; to anyone else it does not exist.
pub(crate) async fn visible(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(ActivityRow, Viewer)> {
    let a = store::activities::plans::get(&ctx.db, id).await?;
    if !p.is_member(a.community_id) {
        return Err(ServiceError::NotFound);
    }
    if p.is_staff(a.community_id) {
        return Ok((a, Viewer::Staff));
    }
    if is_carer(ctx, p, &a).await? {
        return Ok((a, Viewer::Carer));
    }
    if a.status == crate::domain::activity::Status::Draft {
        return Err(ServiceError::NotFound);
    }
    Ok((a, Viewer::Member))
}

/// Staff or a carer of the activity; its other members get 403, outsiders 404.
pub(crate) async fn runs(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<ActivityRow> {
    let (a, who) = visible(ctx, p, id).await?;
    if who == Viewer::Member {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    Ok(a)
}

/// The child resident, to staff of their community (`true`) and to their guardians (`false`);
/// to anyone else the child does not exist.
pub(crate) async fn child(
    ctx: &AppState,
    p: &Principal,
    child_id: Uuid,
) -> ServiceResult<(store::registry::residents::ResidentRow, bool)> {
    let c = store::registry::residents::get(&ctx.db, child_id).await?;
    if !p.is_member(c.community_id) {
        return Err(ServiceError::NotFound);
    }
    if p.is_staff(c.community_id) {
        return Ok((c, true));
    }
    if store::activities::guardians::is_guardian(&ctx.db, child_id, p.user_id).await? {
        return Ok((c, false));
    }
    Err(ServiceError::NotFound)
}
