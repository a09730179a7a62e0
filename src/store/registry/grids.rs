//! Grids (网格) and their grid workers.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::registry::shared::{self, Links, SaveExec};
use crate::store::{BeginWrite, Db, StoreResult, now, on_db};

/// Who serves which grid: a grid worker serves the active grids they are assigned to. Rows of
/// (grid_id, user_id, community_id); every query that keeps a grid worker to their grids reads
/// this, and [`worker_grids`] answers it for one worker.
macro_rules! grid_service {
    () => {
        "(select w.grid_id, w.user_id, g.community_id
          from grid_workers w join grids g on g.id = w.grid_id where g.active)"
    };
}
pub(crate) use grid_service;

/// `<grid> in (the grids <user> serves)`; both are SQL text (a column, a placeholder).
macro_rules! grid_served_by {
    ($grid:literal, $user:literal) => {
        concat!(
            $grid,
            " in (select s.grid_id from ",
            $crate::store::registry::grids::grid_service!(),
            " s where s.user_id = ",
            $user,
            ")"
        )
    };
}
pub(crate) use grid_served_by;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GridRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub centre_lat: Option<f64>,
    pub centre_lng: Option<f64>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A grid with the users who look after it.
#[derive(Debug, Clone)]
pub struct Grid {
    pub row: GridRow,
    pub worker_ids: Vec<Uuid>,
}

const INSERT: &str = "insert into grids (id, community_id, name, description, centre_lat, centre_lng, active, version, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, true, 1, $7, $7)";
const UPDATE: &str =
    "update grids set name = $3, description = $4, centre_lat = $5, centre_lng = $6, active = $7,
        version = version + 1, updated_at = $8
    where id = $1 and version = $2";
const DEACTIVATE: &str = "update grids set active = false, version = version + 1, updated_at = $3
    where id = $1 and version = $2";
const GET: &str = "select id, community_id, name, description, centre_lat, centre_lng, active, version, created_at, updated_at
    from grids where id = $1";
const EXISTS: &str = "select count(*) from grids where id = $1";
const WORKERS: Links = Links {
    of_owner: "select user_id from grid_workers where grid_id = $1 order by user_id",
    of_community: "select w.grid_id, w.user_id from grid_workers w join grids g on g.id = w.grid_id
        where g.community_id = $1 order by w.user_id",
    clear: "delete from grid_workers where grid_id = $1",
    add: "insert into grid_workers (grid_id, user_id) values ($1, $2)",
};
const LIST: &str = "select id, community_id, name, description, centre_lat, centre_lng, active, version, created_at, updated_at
    from grids where community_id = $1 and ($2 is null or id > $2) and ($3 or active) order by id limit $4";
const WORKER_GRIDS: &str = concat!(
    "select s.grid_id from ",
    grid_service!(),
    " s where s.user_id = $1 and s.community_id = $2"
);

/// Creates (`expected_version` = None) or updates a grid and replaces its workers, atomically.
pub async fn save(
    db: &Db,
    row: &GridRow,
    expected_version: Option<i64>,
    workers: &[Uuid],
) -> StoreResult<Grid> {
    let t = now();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("grid", row.id);
        let written = match expected_version {
            None => sqlx::query(INSERT).bind(row.id).bind(row.community_id).bind(&row.name).bind(&row.description)
                .bind(row.centre_lat).bind(row.centre_lng).bind(t).execute(&mut *tx).await?,
            Some(v) => sqlx::query(UPDATE).bind(row.id).bind(v).bind(&row.name).bind(&row.description)
                .bind(row.centre_lat).bind(row.centre_lng).bind(row.active).bind(t).execute(&mut *tx).await?,
        };
        tx.check_written(written.rows_affected(), EXISTS, row.id).await?;
        tx.replace_links(&WORKERS, row.id, workers).await?;
        let saved: GridRow = sqlx::query_as(GET).bind(row.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(Grid { row: saved, worker_ids: workers.to_vec() })
    })
}

/// Marks a grid inactive, keeping its workers.
pub async fn deactivate(db: &Db, id: Uuid, expected_version: i64) -> StoreResult<()> {
    shared::deactivate(db, DEACTIVATE, EXISTS, id, expected_version).await
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<Grid> {
    let row: GridRow = on_db!(db, pool => sqlx::query_as(GET).bind(id).fetch_one(pool).await?);
    let worker_ids = WORKERS.of_owner(db, id).await?;
    Ok(Grid { row, worker_ids })
}

pub async fn list(
    db: &Db,
    community_id: Uuid,
    after: Option<Uuid>,
    include_inactive: bool,
    limit: i64,
) -> StoreResult<Vec<Grid>> {
    let rows: Vec<GridRow> = on_db!(db, pool => sqlx::query_as(LIST)
        .bind(community_id).bind(after).bind(include_inactive).bind(limit).fetch_all(pool).await?);
    WORKERS
        .attach(
            db,
            community_id,
            rows,
            |r| r.id,
            |row, worker_ids| Grid { row, worker_ids },
        )
        .await
}

/// The grids `user_id` serves in `community_id` (see [`grid_service`]).
pub async fn worker_grids(db: &Db, user_id: Uuid, community_id: Uuid) -> StoreResult<Vec<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(WORKER_GRIDS).bind(user_id).bind(community_id).fetch_all(pool).await?))
}
