//! Communities: created by deployment admins, run by community admins.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::code::Code;
use crate::domain::policy::CommunityPolicy;
use crate::domain::text::Name;
use crate::domain::time_zone::TimeZone;
use crate::services::registry::shared::{duplicate, yes};
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, patch};
use crate::state::AppState;
use crate::store::{self, registry::communities::CommunityRow};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommunityInput {
    pub code: String,
    pub name: String,
    #[serde(default = "default_tz")]
    pub time_zone: String,
    #[serde(default = "empty_object")]
    pub policy: Value,
    #[serde(default = "yes")]
    pub active: bool,
}

fn default_tz() -> String {
    TimeZone::default().name().to_string()
}
fn empty_object() -> Value {
    json!({})
}

#[derive(Debug, Serialize)]
pub struct CommunityView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub policy: CommunityPolicy,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The stored policy, read with today's defaults for anything it does not say.
pub fn policy_of(row: &CommunityRow) -> CommunityPolicy {
    CommunityPolicy::read(&row.policy.0)
}

fn view(r: CommunityRow) -> CommunityView {
    CommunityView {
        policy: policy_of(&r),
        id: r.id,
        code: r.code,
        name: r.name,
        time_zone: r.time_zone,
        active: r.active,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

struct Valid {
    code: String,
    name: String,
    time_zone: String,
    policy: Value,
}

fn validate(i: &CommunityInput) -> ServiceResult<Valid> {
    let mut f = Fields::new();
    let code = f.check("code", Code::parse(&i.code));
    let name = f.check("name", Name::parse(&i.name));
    let tz = f.check("time_zone", TimeZone::parse(&i.time_zone));
    let policy = match CommunityPolicy::parse(i.policy.clone()) {
        Ok(p) => Some(p),
        Err(errs) => {
            for e in errs {
                f.push(e.field, e.code);
            }
            None
        }
    };
    Ok(f.finish(|| {
        Some(Valid {
            code: code?.as_str().to_string(),
            name: name?.into_inner(),
            time_zone: tz?.name().to_string(),
            policy: serde_json::to_value(policy?).ok()?,
        })
    })?)
}

/// 404 for outsiders (the object's existence is not theirs to know), 403 for members.
pub fn deny(p: &Principal, community: Uuid) -> ServiceError {
    if p.is_member(community) {
        ServiceError::Forbidden("forbidden")
    } else {
        ServiceError::NotFound
    }
}

/// The community, if the caller belongs to it; 404 otherwise.
pub async fn visible(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<CommunityRow> {
    if !p.is_member(id) {
        return Err(ServiceError::NotFound);
    }
    Ok(store::registry::communities::get(&ctx.db, id).await?)
}

pub async fn create(
    ctx: &AppState,
    p: &Principal,
    input: CommunityInput,
) -> ServiceResult<CommunityView> {
    if !p.is_admin() {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let v = validate(&input)?;
    let row =
        store::registry::communities::insert(&ctx.db, &v.code, &v.name, &v.time_zone, &v.policy)
            .await
            .map_err(duplicate("code"))?;
    Ok(view(row))
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<CommunityView> {
    Ok(view(visible(ctx, p, id).await?))
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    include_inactive: bool,
    page: PageRequest,
) -> ServiceResult<Page<CommunityView>> {
    let member = (!p.is_admin()).then_some(p.user_id);
    let rows = store::registry::communities::list(
        &ctx.db,
        page.after,
        member,
        include_inactive,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |r| r.id, view))
}

fn current_input(r: &CommunityRow) -> CommunityInput {
    CommunityInput {
        code: r.code.clone(),
        name: r.name.clone(),
        time_zone: r.time_zone.clone(),
        policy: serde_json::to_value(policy_of(r)).unwrap_or_else(|_| empty_object()),
        active: r.active,
    }
}

pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &Value,
) -> ServiceResult<CommunityView> {
    let row = visible(ctx, p, id).await?;
    if !p.can_manage(id) {
        return Err(deny(p, id));
    }
    if !p.is_admin() && (changes.get("active").is_some() || changes.get("code").is_some()) {
        return Err(ServiceError::Forbidden("forbidden_field"));
    }
    // The policy is replaced whole when given, so that a client sends what it means.
    let mut changes = changes.clone();
    let new_policy = changes.as_object_mut().and_then(|o| o.remove("policy"));
    let mut input: CommunityInput = patch::apply(&current_input(&row), &changes)?;
    if let Some(pol) = new_policy {
        input.policy = if pol.is_null() { empty_object() } else { pol };
    }
    let v = validate(&input)?;
    let new = CommunityRow {
        code: v.code,
        name: v.name,
        time_zone: v.time_zone,
        policy: Json(v.policy),
        active: input.active,
        ..row
    };
    let saved = store::registry::communities::update(&ctx.db, &new, version)
        .await
        .map_err(duplicate("code"))?;
    Ok(view(saved))
}

pub async fn deactivate(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: Option<i64>,
) -> ServiceResult<()> {
    let row = visible(ctx, p, id).await?;
    if !p.is_admin() {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    if row.active {
        let expected = version.unwrap_or(row.version);
        store::registry::communities::deactivate(&ctx.db, id, expected).await?;
    }
    Ok(())
}
