//! Volunteers (志愿者): skills and weekly availability are kept both on the row (for reading)
//! and in indexed tables (for the dispatch filters).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::volunteer::VolunteerStatus;
use crate::store::accounts::users::GrantExec;
use crate::store::{BeginWrite, Db, StoreResult, now, on_db, stale_or_missing};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VolunteerRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub home_grid_id: Option<Uuid>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub max_concurrent: i64,
    /// Comma-separated, sorted.
    pub skills: String,
    /// `[{"weekday":1,"start_minute":540,"end_minute":660}, …]`
    pub availability: Json<Value>,
    pub party_member: bool,
    pub status: VolunteerStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One availability window as stored in `volunteer_availability`.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub weekday: i64,
    pub start_minute: i64,
    pub end_minute: i64,
}

const INSERT: &str = "insert into volunteers (id, community_id, user_id, name, phone, home_grid_id, lat, lng, max_concurrent,
        skills, availability, party_member, status, version, created_at, updated_at, cell_y, cell_x, search_key)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $14, $15, $16, $17)";
const UPDATE: &str =
    "update volunteers set name = $3, phone = $4, home_grid_id = $5, lat = $6, lng = $7,
        max_concurrent = $8, skills = $9, availability = $10, party_member = $11, status = $12,
        version = version + 1, updated_at = $13, cell_y = $14, cell_x = $15, search_key = $16
    where id = $1 and version = $2";
const GET: &str = "select id, community_id, user_id, name, phone, home_grid_id, lat, lng, max_concurrent, skills,
    availability, party_member, status, version, created_at, updated_at from volunteers where id = $1";
const EXISTS: &str = "select count(*) from volunteers where id = $1";
const CLEAR_SKILLS: &str = "delete from volunteer_skills where volunteer_id = $1";
const ADD_SKILL: &str = "insert into volunteer_skills (volunteer_id, skill) values ($1, $2)";
const CLEAR_SLOTS: &str = "delete from volunteer_availability where volunteer_id = $1";
const ADD_SLOT: &str = "insert into volunteer_availability (volunteer_id, weekday, start_minute, end_minute) values ($1, $2, $3, $4)";

/// Creates (`expected_version` = None) or updates a volunteer with skills and availability;
/// the linked account gets the volunteer role in the same transaction.
pub async fn save(
    db: &Db,
    v: &VolunteerRow,
    slots: &[Slot],
    expected_version: Option<i64>,
) -> StoreResult<VolunteerRow> {
    let t = now();
    // The map cell of the nearby search follows the coordinates.
    let (cell_y, cell_x) = match (v.lat, v.lng) {
        (Some(lat), Some(lng)) => {
            let (y, x) = crate::domain::score::cell(lat, lng);
            (Some(y), Some(x))
        }
        _ => (None, None),
    };
    let key = crate::domain::text::search_key([v.name.as_str()]);
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("volunteer", v.id);
        match expected_version {
            None => {
                sqlx::query(INSERT).bind(v.id).bind(v.community_id).bind(v.user_id).bind(&v.name).bind(&v.phone)
                    .bind(v.home_grid_id).bind(v.lat).bind(v.lng).bind(v.max_concurrent).bind(&v.skills)
                    .bind(&v.availability).bind(v.party_member).bind(v.status).bind(t).bind(cell_y).bind(cell_x)
                    .bind(&key).execute(&mut *tx).await?;
            }
            Some(ver) => {
                let n = sqlx::query(UPDATE).bind(v.id).bind(ver).bind(&v.name).bind(&v.phone)
                    .bind(v.home_grid_id).bind(v.lat).bind(v.lng).bind(v.max_concurrent).bind(&v.skills)
                    .bind(&v.availability).bind(v.party_member).bind(v.status).bind(t).bind(cell_y).bind(cell_x)
                    .bind(&key).execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    let e: i64 = sqlx::query_scalar(EXISTS).bind(v.id).fetch_one(&mut *tx).await?;
                    return Err(stale_or_missing(e > 0));
                }
                sqlx::query(CLEAR_SKILLS).bind(v.id).execute(&mut *tx).await?;
                sqlx::query(CLEAR_SLOTS).bind(v.id).execute(&mut *tx).await?;
            }
        }
        for s in v.skills.split(',').filter(|s| !s.is_empty()) {
            sqlx::query(ADD_SKILL).bind(v.id).bind(s).execute(&mut *tx).await?;
        }
        for s in slots {
            sqlx::query(ADD_SLOT).bind(v.id).bind(s.weekday).bind(s.start_minute).bind(s.end_minute)
                .execute(&mut *tx).await?;
        }
        tx.ensure_grant(v.user_id, "volunteer", v.community_id).await?;
        let saved: VolunteerRow = sqlx::query_as(GET).bind(v.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(saved)
    })
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<VolunteerRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

#[derive(Debug, Default)]
pub struct VolunteerFilter {
    pub community_id: Uuid,
    pub status: Option<String>,
    pub skill: Option<String>,
    pub team_id: Option<Uuid>,
    pub home_grid_id: Option<Uuid>,
    pub party_member: Option<bool>,
    pub pattern: Option<String>,
    /// Only this account's own profile.
    pub user_id: Option<Uuid>,
}

const LIST: &str = "select id, community_id, user_id, name, phone, home_grid_id, lat, lng, max_concurrent, skills,
    availability, party_member, status, version, created_at, updated_at from volunteers v
    where v.community_id = $1
      and ($2 is null or v.id > $2)
      and ($3 is null or v.status = $3)
      and ($4 is null or exists (select 1 from volunteer_skills s where s.volunteer_id = v.id and s.skill = $4))
      and ($5 is null or exists (select 1 from team_members m where m.volunteer_id = v.id and m.team_id = $5))
      and ($6 is null or v.home_grid_id = $6)
      and ($7 is null or v.party_member = $7)
      and ($8 is null or v.search_key like $8 escape '\\' or v.phone like $8 escape '\\')
      and ($9 is null or v.user_id = $9)
    order by v.id limit $10";

pub async fn list(
    db: &Db,
    f: &VolunteerFilter,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<VolunteerRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST)
        .bind(f.community_id).bind(after).bind(&f.status).bind(&f.skill).bind(f.team_id).bind(f.home_grid_id)
        .bind(f.party_member).bind(&f.pattern).bind(f.user_id).bind(limit)
        .fetch_all(pool).await?))
}

const IN_COMMUNITY: &str = "select count(*) from volunteers where community_id = $1 and id = $2";

/// Whether every id names a volunteer of this community.
pub async fn all_in_community(db: &Db, community_id: Uuid, ids: &[Uuid]) -> StoreResult<bool> {
    for id in ids {
        let n: i64 = on_db!(db, pool => sqlx::query_scalar(IN_COMMUNITY).bind(community_id).bind(id).fetch_one(pool).await?);
        if n == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}
