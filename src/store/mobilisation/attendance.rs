//! Attendance at mobilisations: check-ins, their check-outs, rows staff record by hand, the
//! sweeper's closing of check-ins left open, and the hours completing a mobilisation without
//! attendance credits. Each finished attendance writes its pending hours entry in the same
//! transaction (`records::hours_entries::insert_pending!`).
//!
//! Every change of a volunteer's attendance takes the volunteer's row first, so that two
//! check-ins of one person never both pass the daily limit or the one-open-check-in rule.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{EventRow, write_event};
use crate::domain::attendance::{AttendanceStatus, Method, credited};
use crate::domain::mobilisation::Status;
use crate::store::records::hours_entries::{HoursEntryRow, insert_pending};
use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttendanceRow {
    pub id: Uuid,
    pub mobilisation_id: Uuid,
    pub community_id: Uuid,
    pub volunteer_id: Uuid,
    pub signup_id: Uuid,
    pub day: String,
    pub status: AttendanceStatus,
    pub checked_in_at: DateTime<Utc>,
    pub checked_out_at: Option<DateTime<Utc>>,
    pub check_in_method: Method,
    pub check_out_method: Option<Method>,
    pub auto_checked_out: bool,
    pub minutes: Option<i64>,
    pub reason: Option<String>,
    pub recorded_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// What the hours of an attendance are measured against: the mobilisation's plan.
#[derive(Debug, Clone)]
pub struct Planned {
    pub mobilisation_id: Uuid,
    pub community_id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl Planned {
    /// The pending entry for `[from, to]` clipped to the plan; none when nothing is left.
    pub fn entry(
        &self,
        part_id: Uuid,
        volunteer_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        recorded_by: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Option<HoursEntryRow> {
        let (from, to) = credited(from, to, self.starts_at, self.ends_at);
        let e = HoursEntryRow::pending(
            self.community_id,
            volunteer_id,
            "mobilisation",
            self.mobilisation_id,
            part_id,
            self.title.clone(),
            from,
            to,
            recorded_by,
            now,
        );
        (e.minutes > 0).then_some(e)
    }
}

macro_rules! columns {
    () => {
        "id, mobilisation_id, community_id, volunteer_id, signup_id, day, status, checked_in_at,
    checked_out_at, check_in_method, check_out_method, auto_checked_out, minutes, reason,
    recorded_by, created_at"
    };
}

const LOCK_VOLUNTEER: &str = "update volunteers set status = status where id = $1";
const CONFIRMED: &str = "select id from mobilisation_signups
    where mobilisation_id = $1 and volunteer_id = $2 and status = 'confirmed'";
const OPEN_OF: &str = concat!(
    "select ",
    columns!(),
    " from mobilisation_attendance where mobilisation_id = $1 and volunteer_id = $2
    and status = 'open'"
);
const ANY_OF: &str = "select count(*) from mobilisation_attendance
    where mobilisation_id = $1 and volunteer_id = $2 and check_in_method <> 'manual'";
const PAIRS_ON: &str = "select count(*) from mobilisation_attendance
    where volunteer_id = $1 and day = $2 and check_in_method <> 'manual'";
const INSERT: &str = concat!(
    "insert into mobilisation_attendance (",
    columns!(),
    ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
);
const CLOSE: &str = "update mobilisation_attendance set status = 'closed', checked_out_at = $2,
        check_out_method = $3, auto_checked_out = $4, minutes = $5
    where id = $1 and status = 'open'";
const GET: &str = concat!(
    "select ",
    columns!(),
    " from mobilisation_attendance where id = $1"
);
const LIST: &str = concat!(
    "select ",
    columns!(),
    " from mobilisation_attendance where mobilisation_id = $1
    and ($2 is null or volunteer_id = $2) order by id"
);
// The sweeper's query: open check-ins older than 24 h, oldest first, through the partial index.
const DUE_PG: &str = "select a.id, a.volunteer_id, a.checked_in_at, m.id as mobilisation_id,
        m.community_id, m.title, m.starts_at, m.ends_at
    from mobilisation_attendance a join mobilisations m on m.id = a.mobilisation_id
    where a.status = 'open' and a.checked_in_at <= $1
    order by a.checked_in_at limit $2 for update of a skip locked";
const DUE_SQLITE: &str = "select a.id, a.volunteer_id, a.checked_in_at, m.id as mobilisation_id,
        m.community_id, m.title, m.starts_at, m.ends_at
    from mobilisation_attendance a join mobilisations m on m.id = a.mobilisation_id
    where a.status = 'open' and a.checked_in_at <= $1
    order by a.checked_in_at limit $2";
const MOVE: &str = "update mobilisations set status = $3, version = version + 1, updated_at = $4
    where id = $1 and status = $2";
const CONFIRMED_ALL: &str = "select id, volunteer_id from mobilisation_signups
    where mobilisation_id = $1 and status = 'confirmed' order by id";

macro_rules! insert_row {
    ($tx:ident, $r:expr) => {{
        let r: &AttendanceRow = $r;
        sqlx::query(INSERT)
            .bind(r.id)
            .bind(r.mobilisation_id)
            .bind(r.community_id)
            .bind(r.volunteer_id)
            .bind(r.signup_id)
            .bind(&r.day)
            .bind(r.status)
            .bind(r.checked_in_at)
            .bind(r.checked_out_at)
            .bind(r.check_in_method)
            .bind(r.check_out_method)
            .bind(r.auto_checked_out)
            .bind(r.minutes)
            .bind(&r.reason)
            .bind(r.recorded_by)
            .bind(r.created_at)
            .execute(&mut *$tx)
            .await?;
    }};
}

/// A volunteer checks in. `once` (mode `check_in`): the check-in is the whole attendance, so a
/// second one is refused and `entry` (the planned hours) is written with it. `not_signed_up`
/// without a confirmed sign-up, `already_checked_in`, `too_many_pairs` past the day's limit.
pub async fn check_in(
    db: &Db,
    row: &AttendanceRow,
    once: bool,
    entry: Option<&HoursEntryRow>,
) -> StoreResult<AttendanceRow> {
    let mut row = row.clone();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("mobilisation_attendance", row.id);
        sqlx::query(LOCK_VOLUNTEER).bind(row.volunteer_id).execute(&mut *tx).await?;
        let signup: Option<Uuid> = sqlx::query_scalar(CONFIRMED).bind(row.mobilisation_id)
            .bind(row.volunteer_id).fetch_optional(&mut *tx).await?;
        row.signup_id = signup.ok_or(StoreError::Guard("not_signed_up"))?;
        let open: Option<AttendanceRow> = sqlx::query_as(OPEN_OF).bind(row.mobilisation_id)
            .bind(row.volunteer_id).fetch_optional(&mut *tx).await?;
        let before: i64 = sqlx::query_scalar(ANY_OF).bind(row.mobilisation_id)
            .bind(row.volunteer_id).fetch_one(&mut *tx).await?;
        if open.is_some() || (once && before > 0) {
            return Err(StoreError::Guard("already_checked_in"));
        }
        let today: i64 = sqlx::query_scalar(PAIRS_ON).bind(row.volunteer_id).bind(&row.day)
            .fetch_one(&mut *tx).await?;
        crate::domain::attendance::pairs_left(today).map_err(StoreError::Guard)?;
        insert_row!(tx, &row);
        if let Some(e) = entry {
            insert_pending!(tx, e);
        }
        tx.commit().await?;
        Ok(row)
    })
}

/// Closes the volunteer's open check-in at `at` with its hours entry; `not_checked_in` when
/// there is none.
pub async fn check_out(
    db: &Db,
    plan: &Planned,
    volunteer_id: Uuid,
    method: Method,
    recorded_by: Uuid,
    at: DateTime<Utc>,
) -> StoreResult<AttendanceRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(LOCK_VOLUNTEER).bind(volunteer_id).execute(&mut *tx).await?;
        let open: Option<AttendanceRow> = sqlx::query_as(OPEN_OF).bind(plan.mobilisation_id)
            .bind(volunteer_id).fetch_optional(&mut *tx).await?;
        let open = open.ok_or(StoreError::Guard("not_checked_in"))?;
        tx.subject("mobilisation_attendance", open.id);
        let entry = plan.entry(open.id, volunteer_id, open.checked_in_at, at, Some(recorded_by), at);
        let minutes = entry.as_ref().map_or(0, |e| e.minutes);
        let n = sqlx::query(CLOSE).bind(open.id).bind(at).bind(method).bind(false).bind(minutes)
            .execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::Guard("not_checked_in"));
        }
        if let Some(e) = &entry {
            insert_pending!(tx, e);
        }
        let row: AttendanceRow = sqlx::query_as(GET).bind(open.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    })
}

/// Staff record a finished attendance by hand, with its entry; `not_signed_up` unless the
/// volunteer holds a confirmed place.
pub async fn record(
    db: &Db,
    row: &AttendanceRow,
    entry: Option<&HoursEntryRow>,
) -> StoreResult<AttendanceRow> {
    let mut row = row.clone();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("mobilisation_attendance", row.id);
        sqlx::query(LOCK_VOLUNTEER).bind(row.volunteer_id).execute(&mut *tx).await?;
        let signup: Option<Uuid> = sqlx::query_scalar(CONFIRMED).bind(row.mobilisation_id)
            .bind(row.volunteer_id).fetch_optional(&mut *tx).await?;
        row.signup_id = signup.ok_or(StoreError::Guard("not_signed_up"))?;
        insert_row!(tx, &row);
        if let Some(e) = entry {
            insert_pending!(tx, e);
        }
        tx.commit().await?;
        Ok(row)
    })
}

/// The attendance of a mobilisation (only `volunteer_id`'s when given), in order.
pub async fn list(
    db: &Db,
    mobilisation_id: Uuid,
    volunteer_id: Option<Uuid>,
) -> StoreResult<Vec<AttendanceRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST).bind(mobilisation_id).bind(volunteer_id)
        .fetch_all(pool).await?))
}

#[derive(Debug, sqlx::FromRow)]
struct Due {
    id: Uuid,
    volunteer_id: Uuid,
    checked_in_at: DateTime<Utc>,
    mobilisation_id: Uuid,
    community_id: Uuid,
    title: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

/// Closes up to `limit` check-ins open since `before` or earlier at their planned end, flagged
/// `auto_checked_out`, each with its hours entry; returns how many. Instances share the work:
/// PostgreSQL skips rows another holds, SQLite writers take turns, and the close is conditional.
pub async fn auto_close(
    db: &Db,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: i64,
) -> StoreResult<usize> {
    let due_sql = match db {
        Db::Postgres(_) => DUE_PG,
        Db::Sqlite(_) => DUE_SQLITE,
    };
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let due: Vec<Due> = sqlx::query_as(due_sql).bind(before).bind(limit)
            .fetch_all(&mut *tx).await?;
        let mut closed = 0;
        for d in &due {
            let plan = Planned {
                mobilisation_id: d.mobilisation_id,
                community_id: d.community_id,
                title: d.title.clone(),
                starts_at: d.starts_at,
                ends_at: d.ends_at,
            };
            let out = d.ends_at.max(d.checked_in_at);
            let entry = plan.entry(d.id, d.volunteer_id, d.checked_in_at, out, None, now);
            let minutes = entry.as_ref().map_or(0, |e| e.minutes);
            let n = sqlx::query(CLOSE).bind(d.id).bind(out).bind(Method::Auto).bind(true)
                .bind(minutes).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                continue;
            }
            if let Some(e) = &entry {
                insert_pending!(tx, e);
            }
            closed += 1;
        }
        tx.commit().await?;
        Ok(closed)
    })
}

/// Completes a mobilisation whose mode records no attendance: the move (if it is still in
/// `from`), its event, and a pending entry of the planned hours for every confirmed sign-up
/// (`part_id` the sign-up), in one transaction.
pub async fn complete_crediting(
    db: &Db,
    plan: &Planned,
    from: Status,
    event: &EventRow,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("mobilisation", plan.mobilisation_id);
        let n = sqlx::query(MOVE).bind(plan.mobilisation_id).bind(from).bind(Status::Completed)
            .bind(event.at).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::Guard("invalid_transition"));
        }
        write_event!(tx, event);
        let confirmed: Vec<(Uuid, Uuid)> = sqlx::query_as(CONFIRMED_ALL).bind(plan.mobilisation_id)
            .fetch_all(&mut *tx).await?;
        for (signup_id, volunteer_id) in confirmed {
            if let Some(e) = plan.entry(signup_id, volunteer_id, plan.starts_at, plan.ends_at,
                event.actor_id, event.at) {
                insert_pending!(tx, &e);
            }
        }
        tx.commit().await?;
        Ok(())
    })
}
