//! Volunteer teams.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::text::{Description, Name};
use crate::services::registry::communities::{deny, visible};
use crate::services::registry::shared::{duplicate, for_member, yes};
use crate::services::{Page, PageRequest, ServiceResult, patch};
use crate::state::AppState;
use crate::store;
use crate::store::registry::teams::{Team, TeamRow};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub member_ids: Vec<Uuid>,
    #[serde(default = "yes")]
    pub active: bool,
}

#[derive(Debug, Serialize)]
pub struct TeamView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub member_ids: Vec<Uuid>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(t: Team) -> TeamView {
    let r = t.row;
    TeamView {
        id: r.id,
        community_id: r.community_id,
        name: r.name,
        description: r.description,
        member_ids: t.member_ids,
        active: r.active,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

async fn build(
    ctx: &AppState,
    community_id: Uuid,
    i: &TeamInput,
    base: Option<TeamRow>,
) -> ServiceResult<(TeamRow, Vec<Uuid>)> {
    let mut f = Fields::new();
    let name = f.check("name", Name::parse(&i.name));
    let description = f.check_opt("description", i.description.as_deref(), Description::parse);
    let mut members = i.member_ids.clone();
    members.sort();
    members.dedup();
    if members.len() > 500 {
        f.push("member_ids", "too_many");
    } else if !store::registry::volunteers::all_in_community(&ctx.db, community_id, &members)
        .await?
    {
        f.push("member_ids", "unknown_reference");
    }
    let t = store::now();
    let row = f.finish(|| {
        let base = base.unwrap_or(TeamRow {
            id: Uuid::now_v7(),
            community_id,
            name: String::new(),
            description: None,
            active: true,
            version: 1,
            created_at: t,
            updated_at: t,
        });
        Some(TeamRow {
            name: name?.into_inner(),
            description: description?.map(|d| d.into_inner()),
            active: i.active,
            ..base
        })
    })?;
    Ok((row, members))
}

pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: TeamInput,
) -> ServiceResult<TeamView> {
    visible(ctx, p, community_id).await?;
    if !p.is_staff(community_id) {
        return Err(deny(p, community_id));
    }
    let (row, members) = build(ctx, community_id, &input, None).await?;
    Ok(view(
        store::registry::teams::save(&ctx.db, &row, None, &members)
            .await
            .map_err(duplicate("name"))?,
    ))
}

async fn load(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<Team> {
    let t = store::registry::teams::get(&ctx.db, id).await?;
    for_member(p, t.row.community_id, t)
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<TeamView> {
    Ok(view(load(ctx, p, id).await?))
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    include_inactive: bool,
    page: PageRequest,
) -> ServiceResult<Page<TeamView>> {
    visible(ctx, p, community_id).await?;
    let rows = store::registry::teams::list(
        &ctx.db,
        community_id,
        page.after,
        include_inactive,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |t| t.row.id, view))
}

pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &Value,
) -> ServiceResult<TeamView> {
    let t = load(ctx, p, id).await?;
    let community_id = t.row.community_id;
    if !p.is_staff(community_id) {
        return Err(deny(p, community_id));
    }
    let current = TeamInput {
        name: t.row.name.clone(),
        description: t.row.description.clone(),
        member_ids: t.member_ids.clone(),
        active: t.row.active,
    };
    let input: TeamInput = patch::apply(&current, changes)?;
    let (row, members) = build(ctx, community_id, &input, Some(t.row)).await?;
    Ok(view(
        store::registry::teams::save(&ctx.db, &row, Some(version), &members)
            .await
            .map_err(duplicate("name"))?,
    ))
}

pub async fn deactivate(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: Option<i64>,
) -> ServiceResult<()> {
    let t = load(ctx, p, id).await?;
    if !p.is_staff(t.row.community_id) {
        return Err(deny(p, t.row.community_id));
    }
    if t.row.active {
        let expected = version.unwrap_or(t.row.version);
        store::registry::teams::deactivate(&ctx.db, id, expected).await?;
    }
    Ok(())
}
