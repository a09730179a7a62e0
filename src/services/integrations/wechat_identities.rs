//! A person's WeChat identity: the openid they have in one of the deployment's mini-program
//! apps. Staff of a community the person belongs to record it (admins anywhere); the sign-in
//! will record it when the person signs in with WeChat. Nobody sets their own by hand: an openid
//! typed in would send someone else's messages to them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store::integrations::{wechat_apps, wechat_identities as identities};
use crate::store::{self, StoreError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    /// WeChat's app id (`wx…`) of a registered app.
    pub app_id: String,
    pub openid: String,
}

#[derive(Debug, Serialize)]
pub struct IdentityView {
    pub user_id: Uuid,
    pub app_id: String,
    pub openid: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(r: identities::IdentityRow) -> IdentityView {
    IdentityView {
        user_id: r.user_id,
        app_id: r.app_id,
        openid: r.openid,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// WeChat's openids are 28 characters of `A-Za-z0-9_-`; other lengths are allowed up to 64.
pub(crate) fn parse_openid(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        Err("required")
    } else if s.len() > 64 {
        Err("too_long")
    } else if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Err("invalid_value")
    } else {
        Ok(s.to_string())
    }
}

/// The communities of `user_id` through which the caller manages their identity: every one for
/// an admin, else those where the caller is staff. 404 for a user the caller cannot see, 403
/// for one they can (a member of the same community, or themselves) but not manage.
async fn managed_communities(
    ctx: &AppState,
    p: &Principal,
    user_id: Uuid,
) -> ServiceResult<Vec<Uuid>> {
    store::accounts::users::get(&ctx.db, user_id).await?;
    let mut theirs: Vec<Uuid> = store::accounts::users::grants(&ctx.db, user_id)
        .await?
        .into_iter()
        .filter_map(|g| g.community_id)
        .collect();
    theirs.sort();
    theirs.dedup();
    if p.is_admin() {
        return Ok(theirs);
    }
    let staffed: Vec<Uuid> = theirs.iter().copied().filter(|c| p.is_staff(*c)).collect();
    if !staffed.is_empty() {
        Ok(staffed)
    } else if p.user_id == user_id || theirs.iter().any(|c| p.is_member(*c)) {
        Err(ServiceError::Forbidden("forbidden"))
    } else {
        Err(ServiceError::NotFound)
    }
}

/// The user's identity; the user may read their own.
pub async fn get(ctx: &AppState, p: &Principal, user_id: Uuid) -> ServiceResult<IdentityView> {
    if p.user_id != user_id {
        managed_communities(ctx, p, user_id).await?;
    }
    match identities::get(&ctx.db, user_id).await? {
        Some(r) => Ok(view(r)),
        None => Err(ServiceError::NotFound),
    }
}

/// Records the user's identity in an app that serves one of the communities through which the
/// caller manages them (`app_id` `unknown_reference` otherwise), replacing any earlier one.
pub async fn put(
    ctx: &AppState,
    p: &Principal,
    user_id: Uuid,
    input: IdentityInput,
) -> ServiceResult<IdentityView> {
    let communities = managed_communities(ctx, p, user_id).await?;
    let mut f = Fields::new();
    let openid = f.check("openid", parse_openid(&input.openid));
    let openid = f.finish(|| openid)?;
    let app = wechat_apps::find_by_app_id(&ctx.db, input.app_id.trim())
        .await?
        .filter(|a| a.row.active && a.community_ids.iter().any(|c| communities.contains(c)))
        .ok_or_else(|| field_error("app_id", "unknown_reference"))?;
    match identities::put(&ctx.db, user_id, app.row.id, &openid, store::now()).await {
        Ok(r) => Ok(view(r)),
        Err(StoreError::Conflict) => Err(ServiceError::Conflict("openid_in_use")),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(ctx: &AppState, p: &Principal, user_id: Uuid) -> ServiceResult<()> {
    managed_communities(ctx, p, user_id).await?;
    Ok(identities::delete(&ctx.db, user_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openids_are_wechats_url_safe_text() {
        assert_eq!(
            parse_openid(" oW3Xk5BcD-e_fGhIjKlMnOpQrStU ").unwrap(),
            "oW3Xk5BcD-e_fGhIjKlMnOpQrStU"
        );
        assert_eq!(parse_openid(""), Err("required"));
        assert_eq!(parse_openid("a b"), Err("invalid_value"));
        assert_eq!(parse_openid(&"a".repeat(65)), Err("too_long"));
    }
}
