//! A child's sign-in and sign-out at a session, and the overdue pick-up alert: a child still
//! signed in 30 minutes after the session's end raises `activity.pickup_overdue` once, whichever
//! instance's sweep sees it first (the conditional update on `alerted_at` decides).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttendanceRow {
    pub id: Uuid,
    pub session_id: Uuid,
    pub activity_id: Uuid,
    pub community_id: Uuid,
    pub enrolment_id: Uuid,
    pub child_id: Uuid,
    pub child_name: String,
    pub session_ends_at: DateTime<Utc>,
    pub signed_in_at: DateTime<Utc>,
    pub signed_in_by: Uuid,
    pub signed_out_at: Option<DateTime<Utc>>,
    pub signed_out_by: Option<Uuid>,
    pub picked_up_by_name: Option<String>,
    pub picked_up_by_phone_masked: Option<String>,
    pub picked_up_as: Option<String>,
    pub alerted_at: Option<DateTime<Utc>>,
}

/// Who took the child, as recorded at sign-out.
#[derive(Debug, Clone)]
pub struct Pickup {
    pub by: Uuid,
    pub name: String,
    pub phone_masked: String,
    /// `guardian` or `pickup_person`.
    pub as_: &'static str,
    pub at: DateTime<Utc>,
}

macro_rules! select_attendance {
    () => {
        "select a.id, a.session_id, a.activity_id, a.community_id, a.enrolment_id, a.child_id,
        c.name as child_name, a.session_ends_at, a.signed_in_at, a.signed_in_by, a.signed_out_at,
        a.signed_out_by, a.picked_up_by_name, a.picked_up_by_phone_masked, a.picked_up_as,
        a.alerted_at
    from activity_attendance a join residents c on c.id = a.child_id "
    };
}

const INSERT: &str = "insert into activity_attendance (id, session_id, activity_id, community_id,
        enrolment_id, child_id, session_ends_at, signed_in_at, signed_in_by)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const GET: &str = concat!(select_attendance!(), "where a.id = $1");
const OF: &str = concat!(
    select_attendance!(),
    "where a.session_id = $1 and a.enrolment_id = $2"
);
const SIGN_OUT: &str = "update activity_attendance set signed_out_at = $3, signed_out_by = $4,
        picked_up_by_name = $5, picked_up_by_phone_masked = $6, picked_up_as = $7
    where session_id = $1 and enrolment_id = $2 and signed_out_at is null";
const OF_ACTIVITY: &str = concat!(
    select_attendance!(),
    "where a.activity_id = $1 order by a.session_id, a.signed_in_at, a.id"
);
// Reads only what is due, through the partial index `activity_attendance_overdue`.
const OVERDUE: &str = concat!(
    select_attendance!(),
    "where a.signed_out_at is null and a.alerted_at is null and a.session_ends_at <= $1
    order by a.session_ends_at limit $2"
);
const MARK_ALERTED: &str = "update activity_attendance set alerted_at = $2
    where id = $1 and alerted_at is null and signed_out_at is null";
const INSERT_OUTBOX: &str = "insert into outbox (id, community_id, topic, aggregate_type,
        aggregate_id, payload, created_at, delivered_at)
    values ($1, $2, 'activity.pickup_overdue', 'activity', $3, $4, $5, null)";

/// Signs the child in (`id`, session, enrolment, …, `by`, `at`); `already_signed_in` for a
/// second time at the same session.
#[allow(clippy::too_many_arguments)]
pub async fn sign_in(
    db: &Db,
    id: Uuid,
    session: &super::plans::SessionRow,
    enrolment_id: Uuid,
    child_id: Uuid,
    by: Uuid,
    at: DateTime<Utc>,
) -> StoreResult<AttendanceRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("activity_attendance", id);
        let r = sqlx::query(INSERT).bind(id).bind(session.id).bind(session.activity_id)
            .bind(session.community_id).bind(enrolment_id).bind(child_id).bind(session.ends_at)
            .bind(at).bind(by).execute(&mut *tx).await;
        if let Err(e) = r {
            return Err(match StoreError::from(e) {
                StoreError::Conflict => StoreError::Guard("already_signed_in"),
                other => other,
            });
        }
        let row = sqlx::query_as(GET).bind(id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    })
}

/// The child's record at the session, if signed in.
pub async fn of(
    db: &Db,
    session_id: Uuid,
    enrolment_id: Uuid,
) -> StoreResult<Option<AttendanceRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OF).bind(session_id).bind(enrolment_id)
        .fetch_optional(pool).await?))
}

/// Signs the child out to `pickup`, once; `not_signed_in` or `already_signed_out` otherwise.
pub async fn sign_out(
    db: &Db,
    session_id: Uuid,
    enrolment_id: Uuid,
    pickup: &Pickup,
) -> StoreResult<AttendanceRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("activity_session", session_id);
        let n = sqlx::query(SIGN_OUT).bind(session_id).bind(enrolment_id).bind(pickup.at)
            .bind(pickup.by).bind(&pickup.name).bind(&pickup.phone_masked).bind(pickup.as_)
            .execute(&mut *tx).await?.rows_affected();
        let row: Option<AttendanceRow> = sqlx::query_as(OF).bind(session_id).bind(enrolment_id)
            .fetch_optional(&mut *tx).await?;
        match (n, row) {
            (1, Some(row)) => {
                tx.commit().await?;
                Ok(row)
            }
            (_, None) => Err(StoreError::Guard("not_signed_in")),
            _ => Err(StoreError::Guard("already_signed_out")),
        }
    })
}

pub async fn of_activity(db: &Db, activity_id: Uuid) -> StoreResult<Vec<AttendanceRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OF_ACTIVITY).bind(activity_id).fetch_all(pool).await?))
}

/// Children still signed in whose session ended at or before `cutoff`, not yet alerted.
pub async fn overdue(
    db: &Db,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<AttendanceRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OVERDUE).bind(cutoff).bind(limit).fetch_all(pool).await?))
}

/// Marks the record alerted and writes the outbox event, if no one did first; whether it did.
pub async fn alert(
    db: &Db,
    a: &AttendanceRow,
    event_id: Uuid,
    payload: Value,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(MARK_ALERTED).bind(a.id).bind(at).execute(&mut *tx).await?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        sqlx::query(INSERT_OUTBOX).bind(event_id).bind(a.community_id).bind(a.activity_id)
            .bind(Json(payload)).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    })
}
