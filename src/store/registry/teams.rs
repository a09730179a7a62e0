//! Volunteer teams.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::registry::shared::{self, Links, SaveExec};
use crate::store::{BeginWrite, Db, StoreResult, now, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TeamRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Team {
    pub row: TeamRow,
    pub member_ids: Vec<Uuid>,
}

const INSERT: &str = "insert into teams (id, community_id, name, description, active, version, created_at, updated_at)
    values ($1, $2, $3, $4, true, 1, $5, $5)";
const UPDATE: &str = "update teams set name = $3, description = $4, active = $5, version = version + 1, updated_at = $6
    where id = $1 and version = $2";
const DEACTIVATE: &str = "update teams set active = false, version = version + 1, updated_at = $3
    where id = $1 and version = $2";
const GET: &str = "select id, community_id, name, description, active, version, created_at, updated_at from teams where id = $1";
const EXISTS: &str = "select count(*) from teams where id = $1";
const MEMBERS: Links = Links {
    of_owner: "select volunteer_id from team_members where team_id = $1 order by volunteer_id",
    of_community:
        "select m.team_id, m.volunteer_id from team_members m join teams t on t.id = m.team_id
        where t.community_id = $1 order by m.volunteer_id",
    clear: "delete from team_members where team_id = $1",
    add: "insert into team_members (team_id, volunteer_id) values ($1, $2)",
};
const LIST: &str =
    "select id, community_id, name, description, active, version, created_at, updated_at from teams
    where community_id = $1 and ($2 is null or id > $2) and ($3 or active) order by id limit $4";

/// Creates (`expected_version` = None) or updates a team and replaces its members, atomically.
pub async fn save(
    db: &Db,
    row: &TeamRow,
    expected_version: Option<i64>,
    members: &[Uuid],
) -> StoreResult<Team> {
    let t = now();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("team", row.id);
        let written = match expected_version {
            None => sqlx::query(INSERT).bind(row.id).bind(row.community_id).bind(&row.name).bind(&row.description)
                .bind(t).execute(&mut *tx).await?,
            Some(v) => sqlx::query(UPDATE).bind(row.id).bind(v).bind(&row.name).bind(&row.description)
                .bind(row.active).bind(t).execute(&mut *tx).await?,
        };
        tx.check_written(written.rows_affected(), EXISTS, row.id).await?;
        tx.replace_links(&MEMBERS, row.id, members).await?;
        let saved: TeamRow = sqlx::query_as(GET).bind(row.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(Team { row: saved, member_ids: members.to_vec() })
    })
}

/// Marks a team inactive, keeping its members.
pub async fn deactivate(db: &Db, id: Uuid, expected_version: i64) -> StoreResult<()> {
    shared::deactivate(db, DEACTIVATE, EXISTS, id, expected_version).await
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<Team> {
    let row: TeamRow = on_db!(db, pool => sqlx::query_as(GET).bind(id).fetch_one(pool).await?);
    let member_ids = MEMBERS.of_owner(db, id).await?;
    Ok(Team { row, member_ids })
}

pub async fn list(
    db: &Db,
    community_id: Uuid,
    after: Option<Uuid>,
    include_inactive: bool,
    limit: i64,
) -> StoreResult<Vec<Team>> {
    let rows: Vec<TeamRow> = on_db!(db, pool => sqlx::query_as(LIST)
        .bind(community_id).bind(after).bind(include_inactive).bind(limit).fetch_all(pool).await?);
    MEMBERS
        .attach(
            db,
            community_id,
            rows,
            |r| r.id,
            |row, member_ids| Team { row, member_ids },
        )
        .await
}
