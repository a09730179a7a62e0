//! A community's webhooks as its admins manage them: the URL, the event kinds followed, on or
//! off, a description. The signing secret is made by the server, shown in the answer that
//! created the webhook and never again, and kept encrypted with the data key.
//!
//! Community admins of the webhook's community and deployment admins only: other members of the
//! community get 403, everybody else 404.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::signature::new_secret;
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::text::Description;
use crate::domain::webhook::{MAX_KINDS, UrlProblem, is_public, parse_kind, parse_url};
use crate::services::registry::communities::{deny, visible};
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, patch};
use crate::state::AppState;
use crate::store;
use crate::store::delivery::webhooks::WebhookRow;

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    pub url: String,
    pub event_kinds: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

#[derive(Debug, Serialize)]
pub struct WebhookView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub url: String,
    pub event_kinds: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// Why the server turned it off (`gone`, `failing`), until someone turns it on again.
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn view(r: WebhookRow) -> WebhookView {
    WebhookView {
        id: r.id,
        community_id: r.community_id,
        url: r.url,
        event_kinds: r.event_kinds.0,
        description: r.description,
        active: r.active,
        disabled_reason: r.disabled_reason,
        disabled_at: r.disabled_at,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
        secret: None,
    }
}

struct Valid {
    url: String,
    event_kinds: Vec<String>,
    description: Option<String>,
}

/// How long registration waits for a name to resolve.
const RESOLVE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

async fn validate(ctx: &AppState, i: &WebhookInput) -> ServiceResult<Valid> {
    let c = &ctx.config;
    let mut f = Fields::new();
    let mut refused = false;
    let url = match parse_url(&i.url, c.webhook_allow_http, c.webhook_allow_private) {
        Ok(u) => Some(u),
        Err(UrlProblem::Invalid(code)) => {
            f.push("url", code);
            None
        }
        Err(UrlProblem::NotAllowed) => {
            refused = true;
            None
        }
    };
    let mut kinds: Vec<String> = Vec::new();
    if i.event_kinds.is_empty() {
        f.push("event_kinds", "required");
    } else if i.event_kinds.len() > MAX_KINDS {
        f.push("event_kinds", "too_many");
    }
    for (n, k) in i.event_kinds.iter().enumerate() {
        if let Some(k) = f.check(&format!("event_kinds[{n}]"), parse_kind(k))
            && !kinds.contains(&k)
        {
            kinds.push(k);
        }
    }
    let description = f.check_opt("description", i.description.as_deref(), Description::parse);
    let valid = f.finish(|| {
        Some(Valid {
            url: String::new(),
            event_kinds: kinds,
            description: description?.map(|d| d.into_inner()),
        })
    })?;
    let Some(url) = url.filter(|_| !refused) else {
        return Err(ServiceError::Unprocessable("webhook_url_not_allowed"));
    };
    if !c.webhook_allow_private
        && let Some(url::Host::Domain(name)) = url.host()
        && !resolves_to_public(name, url.port_or_known_default().unwrap_or(443)).await
    {
        return Err(ServiceError::Unprocessable("webhook_url_not_allowed"));
    }
    Ok(Valid {
        url: url.to_string(),
        ..valid
    })
}

/// The name resolves, and only to public addresses. Checked again at each connection.
async fn resolves_to_public(name: &str, port: u16) -> bool {
    let found = tokio::time::timeout(RESOLVE_WAIT, tokio::net::lookup_host((name, port))).await;
    match found {
        Ok(Ok(addrs)) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| is_public(a.ip()))
        }
        _ => false,
    }
}

/// Runs the community's webhooks: its community admins, admins, and its integration clients
/// with `webhooks:manage`.
fn may_manage(p: &Principal, community_id: Uuid) -> ServiceResult<()> {
    if p.can_manage(community_id)
        || p.client_may(crate::domain::scope::Scope::WebhooksManage, community_id)
    {
        Ok(())
    } else {
        Err(deny(p, community_id))
    }
}

/// The webhook, to those who may manage it.
pub(super) async fn load(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<WebhookRow> {
    let w = store::delivery::webhooks::get(&ctx.db, id).await?;
    if !p.is_member(w.community_id) {
        return Err(ServiceError::NotFound);
    }
    may_manage(p, w.community_id)?;
    Ok(w)
}

pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: WebhookInput,
) -> ServiceResult<WebhookView> {
    visible(ctx, p, community_id).await?;
    may_manage(p, community_id)?;
    let v = validate(ctx, &input).await?;
    let secret = new_secret();
    let now = store::now();
    let row = WebhookRow {
        id: Uuid::now_v7(),
        community_id,
        url: v.url,
        event_kinds: Json(v.event_kinds),
        description: v.description,
        active: input.active,
        secret: ctx.vault.encrypt(&secret),
        disabled_reason: None,
        disabled_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let saved = store::delivery::webhooks::insert(&ctx.db, &row).await?;
    Ok(WebhookView {
        secret: Some(secret),
        ..view(saved)
    })
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<WebhookView> {
    Ok(view(load(ctx, p, id).await?))
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    page: PageRequest,
) -> ServiceResult<Page<WebhookView>> {
    visible(ctx, p, community_id).await?;
    may_manage(p, community_id)?;
    let rows =
        store::delivery::webhooks::list(&ctx.db, community_id, page.after, page.fetch_limit())
            .await?;
    Ok(page.page(rows, |r| r.id, view))
}

/// A merge patch over `WebhookInput`. Turning a webhook on makes its parked deliveries due at
/// once and clears why the server turned it off.
pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &Value,
) -> ServiceResult<WebhookView> {
    let w = load(ctx, p, id).await?;
    let current = WebhookInput {
        url: w.url.clone(),
        event_kinds: w.event_kinds.0.clone(),
        description: w.description.clone(),
        active: w.active,
    };
    let input: WebhookInput = patch::apply(&current, changes)?;
    let v = validate(ctx, &input).await?;
    let active_changed = input.active != w.active;
    let row = WebhookRow {
        url: v.url,
        event_kinds: Json(v.event_kinds),
        description: v.description,
        active: input.active,
        ..w
    };
    let saved =
        store::delivery::webhooks::update(&ctx.db, &row, version, active_changed, store::now())
            .await?;
    if active_changed && saved.active {
        ctx.webhooks.wake();
    }
    Ok(view(saved))
}

/// Deletes the webhook with its deliveries; nothing more is sent to it.
pub async fn delete(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: Option<i64>,
) -> ServiceResult<()> {
    load(ctx, p, id).await?;
    store::delivery::webhooks::delete(&ctx.db, id, version).await?;
    Ok(())
}
