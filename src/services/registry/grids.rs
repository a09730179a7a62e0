//! Grids and the grid workers who look after them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::geo::Coordinates;
use crate::domain::role::Role;
use crate::domain::text::{Description, Name};
use crate::services::registry::communities::{deny, visible};
use crate::services::registry::shared::{duplicate, for_member, yes};
use crate::services::{Page, PageRequest, ServiceResult, patch};
use crate::state::AppState;
use crate::store;
use crate::store::registry::grids::{Grid, GridRow};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridInput {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub centre: Option<Coordinates>,
    #[serde(default)]
    pub grid_worker_ids: Vec<Uuid>,
    #[serde(default = "yes")]
    pub active: bool,
}

#[derive(Debug, Serialize)]
pub struct GridView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub centre: Option<Coordinates>,
    pub grid_worker_ids: Vec<Uuid>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(g: Grid) -> GridView {
    let r = g.row;
    GridView {
        id: r.id,
        community_id: r.community_id,
        name: r.name,
        description: r.description,
        centre: Coordinates::from_columns(r.centre_lat, r.centre_lng),
        grid_worker_ids: g.worker_ids,
        active: r.active,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// Validates the input into a row; grid workers must hold the grid-worker role here.
async fn build(
    ctx: &AppState,
    community_id: Uuid,
    input: &GridInput,
    base: Option<GridRow>,
) -> ServiceResult<(GridRow, Vec<Uuid>)> {
    let mut f = Fields::new();
    let name = f.check("name", Name::parse(&input.name));
    let description = f.check_opt(
        "description",
        input.description.as_deref(),
        Description::parse,
    );
    let centre = f.check_opt("centre", input.centre, |c| Coordinates::parse(c.lat, c.lng));
    if input.grid_worker_ids.len() > 20 {
        f.push("grid_worker_ids", "too_many");
    }
    // Checked in the order the client sent them, so that error indexes point at its array.
    for (i, w) in input.grid_worker_ids.iter().enumerate().take(20) {
        let ok = store::accounts::users::grants(&ctx.db, *w)
            .await?
            .iter()
            .any(|g| g.role == Role::GridWorker.as_str() && g.community_id == Some(community_id));
        if !ok {
            f.push(format!("grid_worker_ids[{i}]"), "unknown_reference");
        }
    }
    let mut workers = input.grid_worker_ids.clone();
    workers.sort();
    workers.dedup();
    let t = store::now();
    let row = f.finish(|| {
        let centre = centre?;
        let base = base.unwrap_or(GridRow {
            id: Uuid::now_v7(),
            community_id,
            name: String::new(),
            description: None,
            centre_lat: None,
            centre_lng: None,
            active: true,
            version: 1,
            created_at: t,
            updated_at: t,
        });
        Some(GridRow {
            name: name?.into_inner(),
            description: description?.map(|d| d.into_inner()),
            centre_lat: centre.map(|c| c.lat),
            centre_lng: centre.map(|c| c.lng),
            active: input.active,
            ..base
        })
    })?;
    Ok((row, workers))
}

pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: GridInput,
) -> ServiceResult<GridView> {
    visible(ctx, p, community_id).await?;
    if !p.can_manage(community_id) {
        return Err(deny(p, community_id));
    }
    let (row, workers) = build(ctx, community_id, &input, None).await?;
    let saved = store::registry::grids::save(&ctx.db, &row, None, &workers)
        .await
        .map_err(duplicate("name"))?;
    Ok(view(saved))
}

async fn load(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<Grid> {
    let g = store::registry::grids::get(&ctx.db, id).await?;
    for_member(p, g.row.community_id, g)
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<GridView> {
    Ok(view(load(ctx, p, id).await?))
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    include_inactive: bool,
    page: PageRequest,
) -> ServiceResult<Page<GridView>> {
    visible(ctx, p, community_id).await?;
    let rows = store::registry::grids::list(
        &ctx.db,
        community_id,
        page.after,
        include_inactive,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |g| g.row.id, view))
}

fn current_input(g: &Grid) -> GridInput {
    GridInput {
        name: g.row.name.clone(),
        description: g.row.description.clone(),
        centre: Coordinates::from_columns(g.row.centre_lat, g.row.centre_lng),
        grid_worker_ids: g.worker_ids.clone(),
        active: g.row.active,
    }
}

pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &Value,
) -> ServiceResult<GridView> {
    let g = load(ctx, p, id).await?;
    let community_id = g.row.community_id;
    if !p.can_manage(community_id) {
        return Err(deny(p, community_id));
    }
    let input: GridInput = patch::apply(&current_input(&g), changes)?;
    let (row, workers) = build(ctx, community_id, &input, Some(g.row)).await?;
    let saved = store::registry::grids::save(&ctx.db, &row, Some(version), &workers)
        .await
        .map_err(duplicate("name"))?;
    Ok(view(saved))
}

pub async fn deactivate(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: Option<i64>,
) -> ServiceResult<()> {
    let g = load(ctx, p, id).await?;
    if !p.can_manage(g.row.community_id) {
        return Err(deny(p, g.row.community_id));
    }
    if g.row.active {
        let expected = version.unwrap_or(g.row.version);
        store::registry::grids::deactivate(&ctx.db, id, expected).await?;
    }
    Ok(())
}

/// The grids this grid worker serves in the community: the active grids they are assigned to.
/// What a grid worker sees and may change follows this one answer; the lists ask the same in
/// their SQL (`store::registry::grids::grid_served_by!`).
pub async fn served_by(
    ctx: &AppState,
    user_id: Uuid,
    community_id: Uuid,
) -> ServiceResult<Vec<Uuid>> {
    Ok(store::registry::grids::worker_grids(&ctx.db, user_id, community_id).await?)
}

/// Whether the user serves `grid` (a record in no grid: nobody does).
pub async fn serves(
    ctx: &AppState,
    user_id: Uuid,
    community_id: Uuid,
    grid: Option<Uuid>,
) -> ServiceResult<bool> {
    let Some(grid) = grid else {
        return Ok(false);
    };
    Ok(served_by(ctx, user_id, community_id).await?.contains(&grid))
}
