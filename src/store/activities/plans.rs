//! Activities and their sessions. A state change is one conditional update on the state it was
//! read in; a session is held once, and holding it writes its carers' pending hours.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::activity::{Kind, SessionStatus, Status};
use crate::store::records::hours_entries::{HoursEntryRow, insert_pending};
use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub kind: Kind,
    pub title: String,
    pub description: Option<String>,
    pub place: Option<String>,
    pub capacity: i64,
    pub min_age: Option<i64>,
    pub max_age: Option<i64>,
    /// `{"volunteer_ids": [...], "user_ids": [...]}`.
    pub carers: Json<Value>,
    pub status: Status,
    pub confirmed: i64,
    pub next_queue_no: i64,
    pub created_by: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub activity_id: Uuid,
    pub community_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: SessionStatus,
    pub held_at: Option<DateTime<Utc>>,
    pub held_by: Option<Uuid>,
}

macro_rules! columns {
    () => {
        "id, community_id, kind, title, description, place, capacity, min_age, max_age, carers,
    status, confirmed, next_queue_no, created_by, version, created_at, updated_at"
    };
}

const INSERT: &str = concat!(
    "insert into activities (",
    columns!(),
    ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, 1, $12, 1, $13, $13)"
);
const INSERT_SESSION: &str = "insert into activity_sessions (id, activity_id, community_id,
    starts_at, ends_at, status) values ($1, $2, $3, $4, $5, 'scheduled')";
const GET: &str = concat!("select ", columns!(), " from activities where id = $1");
const LIST: &str = concat!(
    "select ",
    columns!(),
    " from activities where community_id = $1 and ($2 is null or id > $2)
    and ($3 or status <> 'draft') order by id limit $4"
);
const MOVE: &str = "update activities set status = $3, version = version + 1, updated_at = $4
    where id = $1 and status = $2";
const SESSION_COLUMNS_OF: &str = "select id, activity_id, community_id, starts_at, ends_at,
    status, held_at, held_by from activity_sessions where activity_id = $1 order by starts_at, id";
const SESSION: &str = "select id, activity_id, community_id, starts_at, ends_at,
    status, held_at, held_by from activity_sessions where id = $1";
const HOLD: &str = "update activity_sessions set status = 'held', held_at = $2, held_by = $3
    where id = $1 and status = 'scheduled'";

/// Stores a new activity (its counters at zero) with its sessions.
pub async fn insert(db: &Db, a: &ActivityRow, sessions: &[SessionRow]) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("activity", a.id);
        sqlx::query(INSERT).bind(a.id).bind(a.community_id).bind(a.kind).bind(&a.title)
            .bind(&a.description).bind(&a.place).bind(a.capacity).bind(a.min_age).bind(a.max_age)
            .bind(&a.carers).bind(a.status).bind(a.created_by).bind(a.created_at)
            .execute(&mut *tx).await?;
        for s in sessions {
            sqlx::query(INSERT_SESSION).bind(s.id).bind(s.activity_id).bind(s.community_id)
                .bind(s.starts_at).bind(s.ends_at).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    })
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<ActivityRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

/// A page of the community's activities (drafts only with `include_drafts`).
pub async fn list(
    db: &Db,
    community_id: Uuid,
    after: Option<Uuid>,
    include_drafts: bool,
    limit: i64,
) -> StoreResult<Vec<ActivityRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST).bind(community_id).bind(after).bind(include_drafts)
        .bind(limit).fetch_all(pool).await?))
}

/// Moves the activity from `from` to `to` if it is still in `from`; `invalid_transition` when
/// someone moved it first.
pub async fn transition(
    db: &Db,
    id: Uuid,
    from: Status,
    to: Status,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("activity", id);
        let n = sqlx::query(MOVE).bind(id).bind(from).bind(to).bind(at)
            .execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::Guard("invalid_transition"));
        }
        tx.commit().await?;
        Ok(())
    })
}

pub async fn sessions(db: &Db, activity_id: Uuid) -> StoreResult<Vec<SessionRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(SESSION_COLUMNS_OF).bind(activity_id).fetch_all(pool).await?))
}

pub async fn session(db: &Db, id: Uuid) -> StoreResult<SessionRow> {
    on_db!(db, pool => Ok(sqlx::query_as(SESSION).bind(id).fetch_one(pool).await?))
}

/// Marks the session held, once, with the pending hours of its volunteer carers in the same
/// transaction; `invalid_transition` when it was held already.
pub async fn hold(
    db: &Db,
    session_id: Uuid,
    by: Uuid,
    at: DateTime<Utc>,
    hours: &[HoursEntryRow],
) -> StoreResult<SessionRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("activity_session", session_id);
        let n = sqlx::query(HOLD).bind(session_id).bind(at).bind(by)
            .execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::Guard("invalid_transition"));
        }
        for h in hours {
            insert_pending!(tx, h);
        }
        let row = sqlx::query_as(SESSION).bind(session_id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    })
}
