//! Linking an account to a registry record (a resident's or a volunteer's) gives the account
//! that record's role in its community, so it follows the rules of granting that role: a link
//! is no back door to a grant, and it never tells the caller about accounts of other
//! communities.

use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::role::Role;
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store::{self, StoreError};

/// Checks that `p` may link `user_id` to a record that carries `role` in `community_id`.
///
/// An account that already holds the role here is linked by whoever may edit the record. One
/// that holds a role in another community (or is an admin) is somebody else's: only an admin
/// links it (or its owner accepts an invitation to the role here), and to anyone else it is as
/// unknown as an account that does not exist. Otherwise the caller must be one who may grant
/// the role here.
pub async fn check(
    ctx: &AppState,
    p: &Principal,
    user_id: Uuid,
    role: Role,
    community_id: Uuid,
) -> ServiceResult<()> {
    let unknown = || field_error("user_id", "unknown_reference");
    match store::accounts::users::get(&ctx.db, user_id).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Err(unknown()),
        Err(e) => return Err(e.into()),
    }
    if p.is_admin() {
        return Ok(());
    }
    let grants = store::accounts::users::grants(&ctx.db, user_id).await?;
    if grants
        .iter()
        .any(|g| g.role == role.as_str() && g.community_id == Some(community_id))
    {
        return Ok(());
    }
    if grants.iter().any(|g| g.community_id != Some(community_id)) {
        return Err(unknown());
    }
    if super::may_grant(p, role, Some(community_id)) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("link_not_allowed"))
    }
}
