//! Communities (社区).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::policy::CommunityPolicy;
use crate::store::registry::shared;
use crate::store::{BeginWrite, Db, StoreResult, missing_or_stale, now, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommunityRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub policy: Json<Value>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The generation horizon kept beside the policy for the sweeper's one query
/// (`store::visits::generation::due_communities`), read as the services read the policy, so
/// that the two never disagree.
fn horizon_days(policy: &Value) -> i32 {
    CommunityPolicy::read(policy).visit.horizon_days as i32
}

const INSERT: &str = "insert into communities (id, code, name, time_zone, policy, active, version, created_at, updated_at,
        visit_horizon_days)
    values ($1, $2, $3, $4, $5, true, 1, $6, $6, $7)
    returning id, code, name, time_zone, policy, active, version, created_at, updated_at";

pub async fn insert(
    db: &Db,
    code: &str,
    name: &str,
    time_zone: &str,
    policy: &Value,
) -> StoreResult<CommunityRow> {
    let (t, id) = (now(), Uuid::now_v7());
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("community", id);
        let row = sqlx::query_as(INSERT)
            .bind(id).bind(code).bind(name).bind(time_zone).bind(Json(policy)).bind(t)
            .bind(horizon_days(policy)).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    })
}

const GET: &str = "select id, code, name, time_zone, policy, active, version, created_at, updated_at from communities where id = $1";

pub async fn get(db: &Db, id: Uuid) -> StoreResult<CommunityRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

const LIST: &str = "select id, code, name, time_zone, policy, active, version, created_at, updated_at from communities c
    where ($1 is null or c.id > $1)
      and ($2 is null or c.id in (select g.community_id from role_grants g where g.user_id = $2))
      and ($3 or c.active)
    order by c.id limit $4";

/// `member`: only communities where this user holds a role (`None`: all).
pub async fn list(
    db: &Db,
    after: Option<Uuid>,
    member: Option<Uuid>,
    include_inactive: bool,
    limit: i64,
) -> StoreResult<Vec<CommunityRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST).bind(after).bind(member).bind(include_inactive).bind(limit)
        .fetch_all(pool).await?))
}

const UPDATE: &str =
    "update communities set code = $3, name = $4, time_zone = $5, policy = $6, active = $7,
        version = version + 1, updated_at = $8, visit_horizon_days = $9
    where id = $1 and version = $2
    returning id, code, name, time_zone, policy, active, version, created_at, updated_at";
const EXISTS: &str = "select count(*) from communities where id = $1";
const DEACTIVATE: &str =
    "update communities set active = false, version = version + 1, updated_at = $3
    where id = $1 and version = $2";

pub async fn update(
    db: &Db,
    row: &CommunityRow,
    expected_version: i64,
) -> StoreResult<CommunityRow> {
    let updated: Option<CommunityRow> = on_db!(db, pool => sqlx::query_as(UPDATE)
        .bind(row.id).bind(expected_version).bind(&row.code).bind(&row.name).bind(&row.time_zone)
        .bind(&row.policy).bind(row.active).bind(now()).bind(horizon_days(&row.policy.0))
        .fetch_optional(pool).await?);
    match updated {
        Some(r) => Ok(r),
        None => Err(missing_or_stale(db, EXISTS, row.id).await),
    }
}

pub async fn deactivate(db: &Db, id: Uuid, expected_version: i64) -> StoreResult<()> {
    shared::deactivate(db, DEACTIVATE, EXISTS, id, expected_version).await
}
