//! Signing up for a mobilisation's slot (a volunteer, or staff on their behalf), withdrawing
//! (the volunteer) or removing (staff), and reading the sign-ups.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Viewer, in_audience, running, visible};
use crate::auth::Principal;
use crate::domain::places::PlaceStatus;
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store;
use crate::store::StoreError;
use crate::store::mobilisation::signups::{NewSignup, SignupRow};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupInput {
    pub slot_id: Uuid,
    /// Staff only: the volunteer signed up on their behalf.
    #[serde(default)]
    pub volunteer_id: Option<Uuid>,
}

#[derive(Debug, Serialize)]
pub struct SignupView {
    pub id: Uuid,
    pub mobilisation_id: Uuid,
    pub slot_id: Uuid,
    pub volunteer_id: Uuid,
    pub status: PlaceStatus,
    /// 1 for the first in the slot's waiting list; null unless waiting.
    pub position: Option<i64>,
    pub signed_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct LeaveView {
    pub signup: SignupView,
    /// The waiting sign-up confirmed in the freed place.
    pub promoted: Option<SignupView>,
}

fn view(s: SignupRow) -> SignupView {
    SignupView {
        id: s.id,
        mobilisation_id: s.mobilisation_id,
        slot_id: s.slot_id,
        volunteer_id: s.volunteer_id,
        status: s.status,
        position: s.position,
        signed_by: s.signed_by,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

pub async fn sign_up(
    ctx: &AppState,
    p: &Principal,
    mobilisation_id: Uuid,
    input: SignupInput,
) -> ServiceResult<SignupView> {
    let (m, who) = visible(ctx, p, mobilisation_id).await?;
    let community_id = m.row.community_id;
    let volunteer_id = match (who, input.volunteer_id) {
        (Viewer::Volunteer(v), None) => v,
        (Viewer::Volunteer(v), Some(x)) if x == v => v,
        (Viewer::Volunteer(_), Some(_)) => {
            return Err(ServiceError::Forbidden("forbidden"));
        }
        (Viewer::Staff, None) => return Err(field_error("volunteer_id", "required")),
        (Viewer::Staff, Some(x)) => {
            let ok = store::registry::volunteers::get(&ctx.db, x)
                .await
                .is_ok_and(|v| v.community_id == community_id);
            if !ok || !in_audience(ctx, &m.row, x).await? {
                return Err(field_error("volunteer_id", "unknown_reference"));
            }
            x
        }
    };
    if !m.slots.iter().any(|s| s.id == input.slot_id) {
        return Err(field_error("slot_id", "unknown_reference"));
    }
    let n = NewSignup {
        id: Uuid::now_v7(),
        mobilisation_id,
        slot_id: input.slot_id,
        community_id,
        volunteer_id,
        starts_at: m.row.starts_at,
        ends_at: m.row.ends_at,
        signed_by: p.user_id,
        at: store::now(),
    };
    match store::mobilisation::signups::sign_up(&ctx.db, &n).await {
        Ok(row) => Ok(view(row)),
        Err(StoreError::Conflict) => Err(ServiceError::Conflict("already_signed_up")),
        Err(e) => Err(e.into()),
    }
}

/// The sign-up, to its volunteer and to staff of its community.
async fn own_or_staff(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(SignupRow, Viewer)> {
    let s = store::mobilisation::signups::get(&ctx.db, id).await?;
    if !p.is_member(s.community_id) {
        return Err(ServiceError::NotFound);
    }
    match super::viewer(ctx, p, s.community_id).await {
        Ok(Viewer::Staff) => Ok((s, Viewer::Staff)),
        Ok(Viewer::Volunteer(v)) if v == s.volunteer_id => Ok((s, Viewer::Volunteer(v))),
        _ => Err(ServiceError::NotFound),
    }
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<SignupView> {
    Ok(view(own_or_staff(ctx, p, id).await?.0))
}

/// The volunteer withdraws (`withdrawn`), staff remove (`removed`); the first waiting volunteer
/// of the slot moves up into a freed place.
pub async fn leave(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<LeaveView> {
    let (s, who) = own_or_staff(ctx, p, id).await?;
    let to = match who {
        Viewer::Volunteer(_) => PlaceStatus::Withdrawn,
        Viewer::Staff => PlaceStatus::Removed,
    };
    let m = store::mobilisation::mobilisations::get(&ctx.db, s.mobilisation_id).await?;
    if !running(m.row.status) {
        return Err(ServiceError::Conflict("invalid_transition"));
    }
    let (row, promoted) =
        store::mobilisation::signups::leave(&ctx.db, &s, to, p.user_id, store::now()).await?;
    Ok(LeaveView {
        signup: view(row),
        promoted: promoted.map(view),
    })
}

/// Staff see every sign-up of the mobilisation; a volunteer their own.
pub async fn list(
    ctx: &AppState,
    p: &Principal,
    mobilisation_id: Uuid,
) -> ServiceResult<Vec<SignupView>> {
    let (_, who) = visible(ctx, p, mobilisation_id).await?;
    let only = match who {
        Viewer::Staff => None,
        Viewer::Volunteer(v) => Some(v),
    };
    let rows =
        store::mobilisation::signups::of_mobilisation(&ctx.db, mobilisation_id, only).await?;
    Ok(rows.into_iter().map(view).collect())
}
