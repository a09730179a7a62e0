//! Enrolments of children in an activity: confirmed while there is room, else waiting in
//! arrival order; a freed place goes to the first waiting child.
//!
//! Every change takes the activity's row first (an update, which locks it on PostgreSQL; SQLite
//! writers are serialised by `begin_write`), so the counts read are the true ones.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::places::{PlaceStatus, Placement, Places};
use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnrolmentRow {
    pub id: Uuid,
    pub activity_id: Uuid,
    pub community_id: Uuid,
    pub child_id: Uuid,
    pub child_name: String,
    pub status: PlaceStatus,
    pub queue_no: Option<i64>,
    /// 1 for the first waiting enrolment of the activity, computed on reading.
    pub position: Option<i64>,
    pub enrolled_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewEnrolment {
    pub id: Uuid,
    pub activity_id: Uuid,
    pub community_id: Uuid,
    pub child_id: Uuid,
    pub enrolled_by: Uuid,
    pub at: DateTime<Utc>,
}

macro_rules! select_enrolments {
    () => {
        "select e.id, e.activity_id, e.community_id, e.child_id, c.name as child_name, e.status,
        e.queue_no,
        case when e.status = 'waiting' then (select count(*) from activity_enrolments w
            where w.activity_id = e.activity_id and w.status = 'waiting' and w.queue_no <= e.queue_no) end as position,
        e.enrolled_by, e.created_at, e.updated_at
    from activity_enrolments e join residents c on c.id = e.child_id "
    };
}

const LOCK: &str = "update activities set confirmed = confirmed where id = $1
    returning capacity, confirmed, next_queue_no, status";
const INSERT: &str = "insert into activity_enrolments (id, activity_id, community_id, child_id,
        status, queue_no, enrolled_by, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $8)";
const TAKE_PLACE: &str = "update activities set confirmed = confirmed + 1 where id = $1";
const FREE_PLACE: &str = "update activities set confirmed = confirmed - 1 where id = $1";
const TAKE_QUEUE_NO: &str = "update activities set next_queue_no = next_queue_no + 1 where id = $1";
const GET: &str = concat!(select_enrolments!(), "where e.id = $1");
const OF_ACTIVITY: &str = concat!(
    select_enrolments!(),
    "where e.activity_id = $1 and ($2 is null or e.child_id in
        (select g.child_id from guardians g where g.guardian_user_id = $2))
    order by e.status, e.queue_no, e.id"
);
const STATUS_OF: &str = "select status from activity_enrolments where id = $1";
const LEAVE: &str = "update activity_enrolments set status = $2, updated_at = $3
    where id = $1 and status in ('confirmed', 'waiting')";
const FIRST_WAITING: &str = "select id from activity_enrolments
    where activity_id = $1 and status = 'waiting' order by queue_no limit 1";
const PROMOTE: &str = "update activity_enrolments set status = 'confirmed', updated_at = $2
    where id = $1 and status = 'waiting'";

/// Places an enrolment: confirmed while there is room, else at the end of the queue.
/// `not_open` unless the activity is published; `Conflict` for a second live one of the child.
pub async fn enrol(db: &Db, n: &NewEnrolment) -> StoreResult<EnrolmentRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("activity_enrolment", n.id);
        let (capacity, confirmed, next_queue_no, status): (i64, i64, i64, String) =
            sqlx::query_as(LOCK).bind(n.activity_id).fetch_one(&mut *tx).await?;
        if status != "published" {
            return Err(StoreError::Guard("not_open"));
        }
        let (status, queue_no) = match (Places { capacity, confirmed, next_queue_no }).place() {
            Placement::Confirmed => {
                sqlx::query(TAKE_PLACE).bind(n.activity_id).execute(&mut *tx).await?;
                (PlaceStatus::Confirmed, None)
            }
            Placement::Waiting { queue_no } => {
                sqlx::query(TAKE_QUEUE_NO).bind(n.activity_id).execute(&mut *tx).await?;
                (PlaceStatus::Waiting, Some(queue_no))
            }
        };
        sqlx::query(INSERT).bind(n.id).bind(n.activity_id).bind(n.community_id).bind(n.child_id)
            .bind(status).bind(queue_no).bind(n.enrolled_by).bind(n.at).execute(&mut *tx).await?;
        let row = sqlx::query_as(GET).bind(n.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    })
}

/// Ends a live enrolment as `to`; a confirmed place freed goes to the first waiting child.
/// Returns the enrolment and the one promoted, if any. `not_enrolled` when it was not live.
pub async fn leave(
    db: &Db,
    e: &EnrolmentRow,
    to: PlaceStatus,
    at: DateTime<Utc>,
) -> StoreResult<(EnrolmentRow, Option<EnrolmentRow>)> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("activity_enrolment", e.id);
        let _: (i64, i64, i64, String) =
            sqlx::query_as(LOCK).bind(e.activity_id).fetch_one(&mut *tx).await?;
        let was: PlaceStatus = sqlx::query_scalar(STATUS_OF).bind(e.id).fetch_one(&mut *tx).await?;
        let n = sqlx::query(LEAVE).bind(e.id).bind(to).bind(at).execute(&mut *tx).await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Guard("not_enrolled"));
        }
        let mut promoted = None;
        if was == PlaceStatus::Confirmed {
            sqlx::query(FREE_PLACE).bind(e.activity_id).execute(&mut *tx).await?;
            let first: Option<Uuid> = sqlx::query_scalar(FIRST_WAITING).bind(e.activity_id)
                .fetch_optional(&mut *tx).await?;
            if let Some(id) = first {
                // Read under the lock, so that promotions are stamped in the order they happened.
                let promoted_at = crate::store::now().max(at);
                sqlx::query(PROMOTE).bind(id).bind(promoted_at).execute(&mut *tx).await?;
                sqlx::query(TAKE_PLACE).bind(e.activity_id).execute(&mut *tx).await?;
                promoted = Some(sqlx::query_as(GET).bind(id).fetch_one(&mut *tx).await?);
            }
        }
        let row = sqlx::query_as(GET).bind(e.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok((row, promoted))
    })
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<EnrolmentRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

/// The enrolments of an activity (only the children `guardian_user_id` is guardian of, if given).
pub async fn of_activity(
    db: &Db,
    activity_id: Uuid,
    guardian_user_id: Option<Uuid>,
) -> StoreResult<Vec<EnrolmentRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OF_ACTIVITY).bind(activity_id).bind(guardian_user_id)
        .fetch_all(pool).await?))
}
