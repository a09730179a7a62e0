//! WeChat mini-program apps, registered by deployment admins: WeChat's app id, the app secret
//! (encrypted with the data key, never shown again), a name, and the communities the app serves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::text::Name;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, field_error, patch};
use crate::state::AppState;
use crate::store::integrations::wechat_apps::{self as store_apps, AppSave, WechatApp};
use crate::store::{self, StoreError};
use crate::wechat::AppCredentials;

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatAppInput {
    pub app_id: String,
    pub name: String,
    /// Required on creation; on update, a new secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default)]
    pub community_ids: Vec<Uuid>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl std::fmt::Debug for WechatAppInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatAppInput")
            .field("app_id", &self.app_id)
            .field("name", &self.name)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("community_ids", &self.community_ids)
            .finish()
    }
}

/// An app as shown: never its secret.
#[derive(Debug, Serialize)]
pub struct WechatAppView {
    pub id: Uuid,
    pub app_id: String,
    pub name: String,
    pub community_ids: Vec<Uuid>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(a: WechatApp) -> WechatAppView {
    WechatAppView {
        id: a.row.id,
        app_id: a.row.app_id,
        name: a.row.name,
        community_ids: a.community_ids,
        active: a.row.active,
        version: a.row.version,
        created_at: a.row.created_at,
        updated_at: a.row.updated_at,
    }
}

pub const MAX_COMMUNITIES: usize = 200;

/// WeChat's app ids are `wx` and 16 letters or digits.
pub(crate) fn parse_app_id(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    let ok =
        s.len() == 18 && s.starts_with("wx") && s[2..].chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(s.to_string())
    } else {
        Err("invalid_value")
    }
}

fn parse_secret(s: &str) -> Result<String, &'static str> {
    if s.is_empty() {
        Err("required")
    } else if s.len() > 128 {
        Err("too_long")
    } else if !s.chars().all(|c| c.is_ascii_graphic()) {
        Err("invalid_value")
    } else {
        Ok(s.to_string())
    }
}

struct Valid {
    app_id: String,
    name: String,
    secret: Option<String>,
    community_ids: Vec<Uuid>,
}

fn validate(i: &WechatAppInput, secret_required: bool) -> ServiceResult<Valid> {
    let mut f = Fields::new();
    let app_id = f.check("app_id", parse_app_id(&i.app_id));
    let name = f.check("name", Name::parse(&i.name));
    let secret = match (&i.secret, secret_required) {
        (None, true) => {
            f.push("secret", "required");
            None
        }
        (s, _) => f.check_opt("secret", s.as_deref(), parse_secret),
    };
    if i.community_ids.len() > MAX_COMMUNITIES {
        f.push("community_ids", "too_many");
    }
    let mut community_ids = i.community_ids.clone();
    community_ids.sort();
    community_ids.dedup();
    Ok(f.finish(|| {
        Some(Valid {
            app_id: app_id?,
            name: name?.into_inner(),
            secret: secret?,
            community_ids,
        })
    })?)
}

fn admin_only(p: &Principal) -> ServiceResult<()> {
    if p.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("forbidden"))
    }
}

fn saved(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict => ServiceError::Conflict("duplicate"),
        StoreError::ForeignKey => field_error("community_ids", "unknown_reference"),
        other => other.into(),
    }
}

pub async fn create(
    ctx: &AppState,
    p: &Principal,
    input: WechatAppInput,
) -> ServiceResult<WechatAppView> {
    admin_only(p)?;
    let v = validate(&input, true)?;
    let secret_enc = v.secret.as_deref().map(|s| ctx.vault.encrypt(s));
    let s = AppSave {
        id: Uuid::now_v7(),
        app_id: &v.app_id,
        name: &v.name,
        secret_enc: secret_enc.as_deref(),
        active: input.active,
        community_ids: &v.community_ids,
    };
    Ok(view(
        store_apps::save(&ctx.db, &s, None).await.map_err(saved)?,
    ))
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<WechatAppView> {
    admin_only(p)?;
    Ok(view(store_apps::get(&ctx.db, id).await?))
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    include_inactive: bool,
    page: PageRequest,
) -> ServiceResult<Page<WechatAppView>> {
    admin_only(p)?;
    let rows = store_apps::list(&ctx.db, page.after, include_inactive, page.fetch_limit()).await?;
    Ok(page.page(rows, |a| a.row.id, view))
}

pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &serde_json::Value,
) -> ServiceResult<WechatAppView> {
    admin_only(p)?;
    let current = store_apps::get(&ctx.db, id).await?;
    let before = WechatAppInput {
        app_id: current.row.app_id.clone(),
        name: current.row.name.clone(),
        secret: None,
        community_ids: current.community_ids.clone(),
        active: current.row.active,
    };
    let input: WechatAppInput = patch::apply(&before, changes)?;
    let v = validate(&input, false)?;
    let secret_enc = v.secret.as_deref().map(|s| ctx.vault.encrypt(s));
    let s = AppSave {
        id,
        app_id: &v.app_id,
        name: &v.name,
        secret_enc: secret_enc.as_deref(),
        active: input.active,
        community_ids: &v.community_ids,
    };
    Ok(view(
        store_apps::save(&ctx.db, &s, Some(version))
            .await
            .map_err(saved)?,
    ))
}

pub async fn deactivate(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: Option<i64>,
) -> ServiceResult<()> {
    admin_only(p)?;
    let current = store_apps::get(&ctx.db, id).await?;
    if !current.row.active {
        return Ok(());
    }
    let s = AppSave {
        id,
        app_id: &current.row.app_id,
        name: &current.row.name,
        secret_enc: None,
        active: false,
        community_ids: &current.community_ids,
    };
    store_apps::save(&ctx.db, &s, Some(version.unwrap_or(current.row.version))).await?;
    Ok(())
}

/// The app's credentials, for a call to WeChat; `None` when the app is gone or inactive.
pub async fn credentials(ctx: &AppState, app: Uuid) -> ServiceResult<Option<AppCredentials>> {
    let a = match store_apps::get(&ctx.db, app).await {
        Ok(a) if a.row.active => a,
        Ok(_) | Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let blob = store::integrations::wechat_apps::secret(&ctx.db, app).await?;
    let secret = ctx
        .vault
        .decrypt(&blob)
        .map_err(|e| ServiceError::Internal(format!("the secret of WeChat app {app}: {e}")))?;
    Ok(Some(AppCredentials {
        app_id: a.row.app_id,
        secret,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids_and_secrets_have_wechats_form() {
        assert!(parse_app_id("wx0123456789abcdef").is_ok());
        for bad in ["", "wx0123", "xx0123456789abcdef", "wx0123456789abcde!"] {
            assert!(parse_app_id(bad).is_err(), "{bad}");
        }
        assert!(parse_secret("0123456789abcdef0123456789abcdef").is_ok());
        assert_eq!(parse_secret("a b"), Err("invalid_value"));
        assert_eq!(parse_secret(&"a".repeat(129)), Err("too_long"));
        let input = WechatAppInput {
            app_id: "wx0123456789abcdef".into(),
            name: "n".into(),
            secret: Some("s3cret-value".into()),
            community_ids: vec![],
            active: true,
        };
        assert!(!format!("{input:?}").contains("s3cret"));
    }
}
