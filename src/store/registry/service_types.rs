//! The community's service catalogue (服务项目).

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::registry::shared;
use crate::store::{BeginWrite, Db, StoreResult, missing_or_stale, now, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceTypeRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub required_skills: Json<Vec<String>>,
    pub default_urgency: String,
    pub respond_minutes: i64,
    pub resolve_hours: i64,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const INSERT: &str = "insert into service_types (id, community_id, code, name, description, required_skills, default_urgency,
        respond_minutes, resolve_hours, active, version, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, 1, $10, $10)
    returning id, community_id, code, name, description, required_skills, default_urgency, respond_minutes, resolve_hours,
        active, version, created_at, updated_at";

pub async fn insert(db: &Db, r: &ServiceTypeRow) -> StoreResult<ServiceTypeRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("service_type", r.id);
        let row = sqlx::query_as(INSERT)
            .bind(r.id).bind(r.community_id).bind(&r.code).bind(&r.name).bind(&r.description).bind(&r.required_skills)
            .bind(&r.default_urgency).bind(r.respond_minutes).bind(r.resolve_hours).bind(now())
            .fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    })
}

const UPDATE: &str = "update service_types set code = $3, name = $4, description = $5, required_skills = $6,
        default_urgency = $7, respond_minutes = $8, resolve_hours = $9, active = $10, version = version + 1, updated_at = $11
    where id = $1 and version = $2
    returning id, community_id, code, name, description, required_skills, default_urgency, respond_minutes, resolve_hours,
        active, version, created_at, updated_at";
const EXISTS: &str = "select count(*) from service_types where id = $1";
const DEACTIVATE: &str =
    "update service_types set active = false, version = version + 1, updated_at = $3
    where id = $1 and version = $2";

pub async fn update(
    db: &Db,
    r: &ServiceTypeRow,
    expected_version: i64,
) -> StoreResult<ServiceTypeRow> {
    let updated: Option<ServiceTypeRow> = on_db!(db, pool => sqlx::query_as(UPDATE)
        .bind(r.id).bind(expected_version).bind(&r.code).bind(&r.name).bind(&r.description).bind(&r.required_skills)
        .bind(&r.default_urgency).bind(r.respond_minutes).bind(r.resolve_hours).bind(r.active).bind(now())
        .fetch_optional(pool).await?);
    match updated {
        Some(r) => Ok(r),
        None => Err(missing_or_stale(db, EXISTS, r.id).await),
    }
}

pub async fn deactivate(db: &Db, id: Uuid, expected_version: i64) -> StoreResult<()> {
    shared::deactivate(db, DEACTIVATE, EXISTS, id, expected_version).await
}

const GET: &str = "select id, community_id, code, name, description, required_skills, default_urgency, respond_minutes,
    resolve_hours, active, version, created_at, updated_at from service_types where id = $1";

pub async fn get(db: &Db, id: Uuid) -> StoreResult<ServiceTypeRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

const LIST: &str = "select id, community_id, code, name, description, required_skills, default_urgency, respond_minutes,
    resolve_hours, active, version, created_at, updated_at from service_types
    where community_id = $1 and ($2 is null or id > $2) and ($3 or active) order by id limit $4";

pub async fn list(
    db: &Db,
    community_id: Uuid,
    after: Option<Uuid>,
    include_inactive: bool,
    limit: i64,
) -> StoreResult<Vec<ServiceTypeRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST).bind(community_id).bind(after).bind(include_inactive).bind(limit)
        .fetch_all(pool).await?))
}
