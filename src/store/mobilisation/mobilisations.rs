//! Mobilisations, their slots and their timeline. A state change is one conditional update
//! (on the state it was read in) with its event, in one transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::{EventRow, write_event};
use crate::domain::mobilisation::{AttendanceMode, Kind, Status};
use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MobilisationRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub title: String,
    pub kind: Kind,
    pub description: Option<String>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub radius_m: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub signup_deadline: Option<DateTime<Utc>>,
    pub attendance_mode: AttendanceMode,
    /// `{"grid_ids": [...], "team_ids": [...], "skills": [...]}`; all empty: every active volunteer.
    pub audience: Json<Value>,
    pub status: Status,
    pub created_by: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlotRow {
    pub id: Uuid,
    pub mobilisation_id: Uuid,
    pub ord: i64,
    pub title: String,
    pub skill: Option<String>,
    pub capacity: i64,
    pub confirmed: i64,
    pub next_queue_no: i64,
}

#[derive(Debug, Clone)]
pub struct Mobilisation {
    pub row: MobilisationRow,
    pub slots: Vec<SlotRow>,
    /// Waiting sign-ups per slot, in slot order.
    pub waiting: Vec<i64>,
}

macro_rules! columns {
    () => {
        "id, community_id, title, kind, description, address, lat, lng, radius_m, starts_at, ends_at,
    signup_deadline, attendance_mode, audience, status, created_by, version, created_at, updated_at"
    };
}

const INSERT: &str = concat!(
    "insert into mobilisations (",
    columns!(),
    ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
);
const INSERT_SLOT: &str = "insert into mobilisation_slots (id, mobilisation_id, ord, title, skill, capacity, confirmed, next_queue_no)
    values ($1, $2, $3, $4, $5, $6, 0, 1)";
const GET: &str = concat!("select ", columns!(), " from mobilisations where id = $1");
const SLOTS: &str =
    "select id, mobilisation_id, ord, title, skill, capacity, confirmed, next_queue_no
    from mobilisation_slots where mobilisation_id = $1 order by ord";
const WAITING: &str = "select s.id, (select count(*) from mobilisation_signups x
        where x.slot_id = s.id and x.status = 'waiting')
    from mobilisation_slots s where s.mobilisation_id = $1 order by s.ord";
const LIST: &str = concat!(
    "select ",
    columns!(),
    " from mobilisations where community_id = $1 and ($2 is null or id > $2)
    and ($3 or status <> 'draft') order by id limit $4"
);
const MOVE: &str = "update mobilisations set status = $3, version = version + 1, updated_at = $4
    where id = $1 and status = $2";
const EVENTS: &str = "select id, mobilisation_id, community_id, kind, actor_id, data, at
    from mobilisation_events where mobilisation_id = $1 order by at, id";

/// Stores a new mobilisation with its slots and its `created` event.
pub async fn insert(
    db: &Db,
    m: &MobilisationRow,
    slots: &[SlotRow],
    event: &EventRow,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("mobilisation", m.id);
        sqlx::query(INSERT).bind(m.id).bind(m.community_id).bind(&m.title).bind(m.kind)
            .bind(&m.description).bind(&m.address).bind(m.lat).bind(m.lng).bind(m.radius_m)
            .bind(m.starts_at).bind(m.ends_at).bind(m.signup_deadline).bind(m.attendance_mode)
            .bind(&m.audience).bind(m.status).bind(m.created_by).bind(m.version)
            .bind(m.created_at).bind(m.updated_at).execute(&mut *tx).await?;
        for s in slots {
            sqlx::query(INSERT_SLOT).bind(s.id).bind(s.mobilisation_id).bind(s.ord).bind(&s.title)
                .bind(&s.skill).bind(s.capacity).execute(&mut *tx).await?;
        }
        write_event!(tx, event);
        tx.commit().await?;
        Ok(())
    })
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<Mobilisation> {
    on_db!(db, pool => {
        // One connection for the three reads: under a call-out's rush each acquisition waits
        // in the pool's queue.
        let mut c = pool.acquire().await?;
        let row: MobilisationRow = sqlx::query_as(GET).bind(id).fetch_one(&mut *c).await?;
        let slots: Vec<SlotRow> = sqlx::query_as(SLOTS).bind(id).fetch_all(&mut *c).await?;
        let waiting: Vec<(Uuid, i64)> = sqlx::query_as(WAITING).bind(id).fetch_all(&mut *c).await?;
        Ok(Mobilisation { row, slots, waiting: waiting.into_iter().map(|(_, n)| n).collect() })
    })
}

/// A page of the community's mobilisations (drafts only with `include_drafts`).
pub async fn list(
    db: &Db,
    community_id: Uuid,
    after: Option<Uuid>,
    include_drafts: bool,
    limit: i64,
) -> StoreResult<Vec<MobilisationRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST).bind(community_id).bind(after).bind(include_drafts)
        .bind(limit).fetch_all(pool).await?))
}

/// Moves the mobilisation from `from` to `to` if it is still in `from`, with its event;
/// `invalid_transition` when someone moved it first.
pub async fn transition(
    db: &Db,
    id: Uuid,
    from: Status,
    to: Status,
    event: &EventRow,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("mobilisation", id);
        let n = sqlx::query(MOVE).bind(id).bind(from).bind(to).bind(event.at)
            .execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::Guard("invalid_transition"));
        }
        write_event!(tx, event);
        tx.commit().await?;
        Ok(())
    })
}

pub async fn events(db: &Db, id: Uuid) -> StoreResult<Vec<EventRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(EVENTS).bind(id).fetch_all(pool).await?))
}
