//! Sign-ups for the slots of a mobilisation: confirmed while the slot has room, else waiting in
//! arrival order; a freed place goes to the first waiting volunteer it does not double-book.
//!
//! Every change takes the slot's row first (an update, which locks it on PostgreSQL; SQLite
//! writers are serialised by `begin_write`), then the volunteer's row, in that order, so that
//! the counts read are the true ones and two changes never wait on each other in a circle.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{EventRow, write_event};
use crate::domain::places::{PlaceStatus, Placement, Places};
use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignupRow {
    pub id: Uuid,
    pub mobilisation_id: Uuid,
    pub slot_id: Uuid,
    pub community_id: Uuid,
    pub volunteer_id: Uuid,
    pub status: PlaceStatus,
    /// Arrival order in the slot's queue, for waiting sign-ups (kept once confirmed).
    pub queue_no: Option<i64>,
    /// 1 for the first waiting sign-up of the slot, computed on reading.
    pub position: Option<i64>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub signed_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A sign-up to be placed: the slot and volunteer, the mobilisation's window (for conflicts).
#[derive(Debug, Clone)]
pub struct NewSignup {
    pub id: Uuid,
    pub mobilisation_id: Uuid,
    pub slot_id: Uuid,
    pub community_id: Uuid,
    pub volunteer_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub signed_by: Uuid,
    pub at: DateTime<Utc>,
}

macro_rules! select_signups {
    () => {
        "select s.id, s.mobilisation_id, s.slot_id, s.community_id, s.volunteer_id, s.status, s.queue_no,
        case when s.status = 'waiting' then (select count(*) from mobilisation_signups w
            where w.slot_id = s.slot_id and w.status = 'waiting' and w.queue_no <= s.queue_no) end as position,
        s.starts_at, s.ends_at, s.signed_by, s.created_at, s.updated_at
    from mobilisation_signups s "
    };
}

const LOCK_SLOT: &str = "update mobilisation_slots set confirmed = confirmed where id = $1
    returning capacity, confirmed, next_queue_no";
/// The slot's row, locked, only while its mobilisation takes sign-ups (the guard and the lock in
/// one round trip: a rush queues on this row, so what runs under it is kept short).
const LOCK_OPEN_SLOT: &str = "update mobilisation_slots set confirmed = confirmed
    where id = $1 and exists (select 1 from mobilisations m
        where m.id = mobilisation_slots.mobilisation_id and m.status = 'published'
        and (m.signup_deadline is null or m.signup_deadline > $2))
    returning capacity, confirmed, next_queue_no";
const LOCK_VOLUNTEER: &str = "update volunteers set status = status where id = $1";
const CONFLICTS: &str = "select count(*) from mobilisation_signups where volunteer_id = $1
    and status = 'confirmed' and mobilisation_id <> $2 and starts_at < $4 and ends_at > $3";
const INSERT: &str =
    "insert into mobilisation_signups (id, mobilisation_id, slot_id, community_id, volunteer_id,
        status, queue_no, starts_at, ends_at, signed_by, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)";
const TAKE_PLACE: &str = "update mobilisation_slots set confirmed = confirmed + 1 where id = $1";
const FREE_PLACE: &str = "update mobilisation_slots set confirmed = confirmed - 1 where id = $1";
const TAKE_QUEUE_NO: &str =
    "update mobilisation_slots set next_queue_no = next_queue_no + 1 where id = $1";
const GET: &str = concat!(select_signups!(), "where s.id = $1");
const POSITION: &str = "select count(*) from mobilisation_signups
    where slot_id = $1 and status = 'waiting' and queue_no <= $2";
const OF_MOBILISATION: &str = concat!(
    select_signups!(),
    "where s.mobilisation_id = $1 and ($2 is null or s.volunteer_id = $2)
    order by s.slot_id, s.status, s.queue_no, s.id"
);
const STATUS_OF: &str = "select status from mobilisation_signups where id = $1";
const LEAVE: &str = "update mobilisation_signups set status = $2, updated_at = $3
    where id = $1 and status in ('confirmed', 'waiting')";
const WAITING: &str = "select id, volunteer_id, starts_at, ends_at from mobilisation_signups
    where slot_id = $1 and status = 'waiting' order by queue_no";
const PROMOTE: &str = "update mobilisation_signups set status = 'confirmed', updated_at = $2
    where id = $1 and status = 'waiting'";

/// Places a sign-up: confirmed while the slot has room (refused with `schedule_conflict` if the
/// volunteer is confirmed elsewhere at the same time), else waiting at the end of the queue.
/// `not_open` when the mobilisation takes no sign-ups now; `Conflict` for a second live one.
pub async fn sign_up(db: &Db, n: &NewSignup) -> StoreResult<SignupRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("mobilisation_signup", n.id);
        let (capacity, confirmed, next_queue_no): (i64, i64, i64) =
            sqlx::query_as(LOCK_OPEN_SLOT).bind(n.slot_id).bind(n.at)
                .fetch_optional(&mut *tx).await?.ok_or(StoreError::Guard("not_open"))?;
        let placement = Places { capacity, confirmed, next_queue_no }.place();
        let (status, queue_no) = match placement {
            Placement::Confirmed => {
                // Only a confirmed place can clash with the volunteer's other call-outs.
                sqlx::query(LOCK_VOLUNTEER).bind(n.volunteer_id).execute(&mut *tx).await?;
                let clashes: i64 = sqlx::query_scalar(CONFLICTS).bind(n.volunteer_id)
                    .bind(n.mobilisation_id).bind(n.starts_at).bind(n.ends_at)
                    .fetch_one(&mut *tx).await?;
                if clashes > 0 {
                    return Err(StoreError::Guard("schedule_conflict"));
                }
                sqlx::query(TAKE_PLACE).bind(n.slot_id).execute(&mut *tx).await?;
                (PlaceStatus::Confirmed, None)
            }
            Placement::Waiting { queue_no } => {
                sqlx::query(TAKE_QUEUE_NO).bind(n.slot_id).execute(&mut *tx).await?;
                (PlaceStatus::Waiting, Some(queue_no))
            }
        };
        sqlx::query(INSERT).bind(n.id).bind(n.mobilisation_id).bind(n.slot_id).bind(n.community_id)
            .bind(n.volunteer_id).bind(status).bind(queue_no).bind(n.starts_at).bind(n.ends_at)
            .bind(n.signed_by).bind(n.at).execute(&mut *tx).await?;
        // The row as written; only a waiting place needs a read, for its position.
        let position: Option<i64> = match queue_no {
            Some(q) => Some(sqlx::query_scalar(POSITION).bind(n.slot_id).bind(q)
                .fetch_one(&mut *tx).await?),
            None => None,
        };
        let row = SignupRow {
            id: n.id,
            mobilisation_id: n.mobilisation_id,
            slot_id: n.slot_id,
            community_id: n.community_id,
            volunteer_id: n.volunteer_id,
            status,
            queue_no,
            position,
            starts_at: n.starts_at,
            ends_at: n.ends_at,
            signed_by: n.signed_by,
            created_at: n.at,
            updated_at: n.at,
        };
        let event = EventRow::new(n.mobilisation_id, n.community_id, "signed_up", Some(n.signed_by),
            json!({"signup_id": n.id, "slot_id": n.slot_id, "volunteer_id": n.volunteer_id,
                   "status": status, "position": row.position}), n.at);
        write_event!(tx, &event);
        tx.commit().await?;
        Ok(row)
    })
}

/// Ends a live sign-up as `to` (withdrawn by the volunteer, removed by staff); a confirmed
/// place freed goes to the first waiting volunteer not confirmed elsewhere at the same time.
/// Returns the sign-up and the one promoted, if any. `not_signed_up` when it was not live.
pub async fn leave(
    db: &Db,
    signup: &SignupRow,
    to: PlaceStatus,
    actor: Uuid,
    at: DateTime<Utc>,
) -> StoreResult<(SignupRow, Option<SignupRow>)> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("mobilisation_signup", signup.id);
        sqlx::query(LOCK_SLOT).bind(signup.slot_id).fetch_one(&mut *tx).await?;
        let was: PlaceStatus = sqlx::query_scalar(STATUS_OF).bind(signup.id).fetch_one(&mut *tx).await?;
        let n = sqlx::query(LEAVE).bind(signup.id).bind(to).bind(at).execute(&mut *tx).await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Guard("not_signed_up"));
        }
        let event = EventRow::new(signup.mobilisation_id, signup.community_id, to.as_str(), Some(actor),
            json!({"signup_id": signup.id, "slot_id": signup.slot_id, "volunteer_id": signup.volunteer_id,
                   "was": was}), at);
        write_event!(tx, &event);
        let mut promoted = None;
        if was == PlaceStatus::Confirmed {
            sqlx::query(FREE_PLACE).bind(signup.slot_id).execute(&mut *tx).await?;
            let waiting: Vec<(Uuid, Uuid, DateTime<Utc>, DateTime<Utc>)> =
                sqlx::query_as(WAITING).bind(signup.slot_id).fetch_all(&mut *tx).await?;
            for (id, volunteer_id, starts_at, ends_at) in waiting {
                sqlx::query(LOCK_VOLUNTEER).bind(volunteer_id).execute(&mut *tx).await?;
                let clashes: i64 = sqlx::query_scalar(CONFLICTS).bind(volunteer_id)
                    .bind(signup.mobilisation_id).bind(starts_at).bind(ends_at)
                    .fetch_one(&mut *tx).await?;
                if clashes > 0 {
                    continue;
                }
                sqlx::query(PROMOTE).bind(id).bind(at).execute(&mut *tx).await?;
                sqlx::query(TAKE_PLACE).bind(signup.slot_id).execute(&mut *tx).await?;
                let event = EventRow::new(signup.mobilisation_id, signup.community_id, "promoted",
                    Some(actor), json!({"signup_id": id, "slot_id": signup.slot_id,
                    "volunteer_id": volunteer_id}), at);
                write_event!(tx, &event);
                promoted = Some(id);
                break;
            }
        }
        let row: SignupRow = sqlx::query_as(GET).bind(signup.id).fetch_one(&mut *tx).await?;
        let promoted = match promoted {
            Some(id) => Some(sqlx::query_as(GET).bind(id).fetch_one(&mut *tx).await?),
            None => None,
        };
        tx.commit().await?;
        Ok((row, promoted))
    })
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<SignupRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

/// The sign-ups of a mobilisation (only `volunteer_id`'s when given).
pub async fn of_mobilisation(
    db: &Db,
    mobilisation_id: Uuid,
    volunteer_id: Option<Uuid>,
) -> StoreResult<Vec<SignupRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OF_MOBILISATION).bind(mobilisation_id).bind(volunteer_id)
        .fetch_all(pool).await?))
}
