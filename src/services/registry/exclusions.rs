//! A resident's exclusion list: volunteers the dispatch engine never offers their requests to.
//! The resident, their grid worker and staff manage it; a care-team doctor does not.

use serde::Serialize;
use uuid::Uuid;

use crate::auth::Principal;
use crate::services::registry::residents::{Scope, load};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::{self, StoreError};

#[derive(Debug, Serialize)]
pub struct ExclusionsView {
    pub resident_id: Uuid,
    /// Volunteers the dispatch engine never offers this resident's requests to.
    pub volunteer_ids: Vec<Uuid>,
}

/// The resident's exclusion list; the resident, their grid worker and staff manage it.
pub async fn exclusions(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<ExclusionsView> {
    let (r, s) = load(ctx, p, id).await?;
    if matches!(s, Scope::None | Scope::Team(_)) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    Ok(ExclusionsView {
        resident_id: r.id,
        volunteer_ids: store::registry::residents::exclusions(&ctx.db, r.id).await?,
    })
}

pub async fn set_exclusion(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    volunteer_id: Uuid,
    excluded: bool,
) -> ServiceResult<ExclusionsView> {
    let (r, s) = load(ctx, p, id).await?;
    if matches!(s, Scope::Team(_)) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    if excluded {
        match store::registry::volunteers::get(&ctx.db, volunteer_id).await {
            Ok(v) if v.community_id == r.community_id => {}
            Ok(_) | Err(StoreError::NotFound) => return Err(ServiceError::NotFound),
            Err(e) => return Err(e.into()),
        }
        store::registry::residents::exclude(&ctx.db, r.id, volunteer_id, None, p.user_id).await?;
    } else if !store::registry::residents::unexclude(&ctx.db, r.id, volunteer_id).await? {
        return Err(ServiceError::NotFound);
    }
    exclusions(ctx, p, id).await
}
