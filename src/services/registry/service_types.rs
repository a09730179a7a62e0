//! The service catalogue: what the station offers, the skills each needs, and its deadlines.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::code::{Code, parse_code_set};
use crate::domain::text::{Description, Name};
use crate::domain::urgency::Urgency;
use crate::services::registry::communities::{deny, policy_of, visible};
use crate::services::registry::shared::{duplicate, for_member, yes};
use crate::services::{Page, PageRequest, ServiceResult, patch};
use crate::state::AppState;
use crate::store;
use crate::store::registry::service_types::ServiceTypeRow;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTypeInput {
    pub code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub required_skills: Vec<String>,
    #[serde(default = "normal")]
    pub default_urgency: String,
    /// Defaults to the community's SLA for the default urgency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_hours: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn normal() -> String {
    Urgency::Normal.as_str().to_string()
}

#[derive(Debug, Serialize)]
pub struct ServiceTypeView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub required_skills: Vec<String>,
    pub default_urgency: String,
    pub respond_minutes: i64,
    pub resolve_hours: i64,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(r: ServiceTypeRow) -> ServiceTypeView {
    ServiceTypeView {
        id: r.id,
        community_id: r.community_id,
        code: r.code,
        name: r.name,
        description: r.description,
        required_skills: r.required_skills.0,
        default_urgency: r.default_urgency,
        respond_minutes: r.respond_minutes,
        resolve_hours: r.resolve_hours,
        active: r.active,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

async fn build(
    ctx: &AppState,
    community_id: Uuid,
    i: &ServiceTypeInput,
    base: Option<ServiceTypeRow>,
) -> ServiceResult<ServiceTypeRow> {
    let policy = policy_of(&store::registry::communities::get(&ctx.db, community_id).await?);
    let mut f = Fields::new();
    let code = f.check("code", Code::parse(&i.code));
    let name = f.check("name", Name::parse(&i.name));
    let description = f.check_opt("description", i.description.as_deref(), Description::parse);
    let skills = f.check("required_skills", parse_code_set(&i.required_skills, 10));
    let urgency = f.check("default_urgency", Urgency::parse(&i.default_urgency));
    let sla = urgency.map(|u| policy.sla.for_urgency(u));
    let respond = i.respond_minutes.or(sla.map(|s| s.respond_minutes.into()));
    let resolve = i.resolve_hours.or(sla.map(|s| s.resolve_hours.into()));
    if respond.is_some_and(|m| !(1..=30 * 24 * 60).contains(&m)) {
        f.push("respond_minutes", "out_of_range");
    }
    if resolve.is_some_and(|h| !(1..=365 * 24).contains(&h)) {
        f.push("resolve_hours", "out_of_range");
    }
    let t = store::now();
    Ok(f.finish(|| {
        Some(ServiceTypeRow {
            id: base.as_ref().map_or_else(Uuid::now_v7, |b| b.id),
            community_id,
            code: code?.as_str().to_string(),
            name: name?.into_inner(),
            description: description?.map(|d| d.into_inner()),
            required_skills: Json(skills?.iter().map(|s| s.as_str().to_string()).collect()),
            default_urgency: urgency?.as_str().to_string(),
            respond_minutes: respond?,
            resolve_hours: resolve?,
            active: i.active,
            version: base.as_ref().map_or(1, |b| b.version),
            created_at: base.as_ref().map_or(t, |b| b.created_at),
            updated_at: t,
        })
    })?)
}

pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: ServiceTypeInput,
) -> ServiceResult<ServiceTypeView> {
    visible(ctx, p, community_id).await?;
    if !p.can_manage(community_id) {
        return Err(deny(p, community_id));
    }
    let row = build(ctx, community_id, &input, None).await?;
    Ok(view(
        store::registry::service_types::insert(&ctx.db, &row)
            .await
            .map_err(duplicate("code"))?,
    ))
}

async fn load(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<ServiceTypeRow> {
    let r = store::registry::service_types::get(&ctx.db, id).await?;
    for_member(p, r.community_id, r)
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<ServiceTypeView> {
    Ok(view(load(ctx, p, id).await?))
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    include_inactive: bool,
    page: PageRequest,
) -> ServiceResult<Page<ServiceTypeView>> {
    visible(ctx, p, community_id).await?;
    let rows = store::registry::service_types::list(
        &ctx.db,
        community_id,
        page.after,
        include_inactive,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |r| r.id, view))
}

pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &Value,
) -> ServiceResult<ServiceTypeView> {
    let r = load(ctx, p, id).await?;
    if !p.can_manage(r.community_id) {
        return Err(deny(p, r.community_id));
    }
    // A new urgency brings that urgency's deadlines, unless the change names its own.
    let urgency_changes = changes.get("default_urgency").is_some();
    let keeps = |field: &str| !urgency_changes || changes.get(field).is_some();
    let current = ServiceTypeInput {
        code: r.code.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        required_skills: r.required_skills.0.clone(),
        default_urgency: r.default_urgency.clone(),
        respond_minutes: keeps("respond_minutes").then_some(r.respond_minutes),
        resolve_hours: keeps("resolve_hours").then_some(r.resolve_hours),
        active: r.active,
    };
    let input: ServiceTypeInput = patch::apply(&current, changes)?;
    let row = build(ctx, r.community_id, &input, Some(r)).await?;
    Ok(view(
        store::registry::service_types::update(&ctx.db, &row, version)
            .await
            .map_err(duplicate("code"))?,
    ))
}

pub async fn deactivate(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: Option<i64>,
) -> ServiceResult<()> {
    let r = load(ctx, p, id).await?;
    if !p.can_manage(r.community_id) {
        return Err(deny(p, r.community_id));
    }
    if r.active {
        let expected = version.unwrap_or(r.version);
        store::registry::service_types::deactivate(&ctx.db, id, expected).await?;
    }
    Ok(())
}
