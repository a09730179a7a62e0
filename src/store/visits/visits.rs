//! Visits from scheduled to done: one change at a time with its event, the needs found on it
//! (placed as help requests in the same transaction), a grade it raises and its follow-up;
//! major changes and the visits they bring; the lists.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use super::grades::{GradeExec, GradeUpdate};
use crate::domain::visit::{Action, Condition, ContactKind, Reason, Status};
use crate::store::registry::grids::grid_served_by;
use crate::store::requests::help_requests::{Effects, HelpRequestRow, HoursRow, RequestExec};
use crate::store::{BeginWrite, Db, StoreResult, on_db, stale_or_missing};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisitRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    pub grid_id: Option<Uuid>,
    pub plan_id: Option<Uuid>,
    pub epoch: Option<i64>,
    pub seq: Option<i64>,
    pub reason: Reason,
    pub contact_kind: ContactKind,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub status: Status,
    pub started_at: Option<DateTime<Utc>>,
    pub started_by: Option<Uuid>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<Uuid>,
    pub performed_contact_kind: Option<ContactKind>,
    pub duration_minutes: Option<i64>,
    pub condition: Option<Condition>,
    pub observations: Option<String>,
    pub cancel_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A visit with what its team needs to know of the resident.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisitWithResident {
    #[sqlx(flatten)]
    pub visit: VisitRow,
    pub resident_name: String,
    pub resident_phone: Option<String>,
    pub resident_address: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MajorChangeRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    pub kind: String,
    pub description: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub reported_by: Uuid,
    pub visit_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct VisitEvent {
    pub visit_id: Uuid,
    pub community_id: Uuid,
    pub kind: &'static str,
    pub actor_id: Option<Uuid>,
    pub data: Value,
    pub at: DateTime<Utc>,
}

macro_rules! visit_columns {
    () => {
        "v.id, v.community_id, v.resident_id, v.grid_id, v.plan_id, v.epoch, v.seq, v.reason,
        v.contact_kind, v.window_start, v.window_end, v.status, v.started_at, v.started_by,
        v.completed_at, v.completed_by, v.performed_contact_kind, v.duration_minutes, v.condition,
        v.observations, v.cancel_reason, v.version, v.created_at, v.updated_at"
    };
}
pub(super) use visit_columns;

const INSERT_VISIT: &str = "insert into visits (id, community_id, resident_id, grid_id, plan_id,
    epoch, seq, reason, contact_kind, window_start, window_end, status, version, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13)
    on conflict (plan_id, epoch, seq) do nothing";
const REGRID_OPEN: &str = "update visits set grid_id = $2
    where resident_id = $1 and status in ('scheduled', 'in_progress')";
const END_PLANS_OF: &str = "update visit_plans set active = false, next_start = null,
    version = version + 1, updated_at = $2 where resident_id = $1 and active";
const CANCEL_OPEN_OF: &str = "update visits set status = $4, cancel_reason = 'resident_inactive',
    version = version + 1, updated_at = $2 where resident_id = $1 and status = $3";
const INSERT_MAJOR: &str = "insert into major_changes (id, community_id, resident_id, kind,
    description, occurred_at, reported_by, visit_id, at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const UPDATE_VISIT: &str = "update visits set status = $3, started_at = $4, started_by = $5,
    completed_at = $6, completed_by = $7, performed_contact_kind = $8, duration_minutes = $9,
    condition = $10, observations = $11, cancel_reason = $12, version = version + 1, updated_at = $13
    where id = $1 and version = $2";
const VISIT_EXISTS: &str = "select count(*) from visits where id = $1";
const GET_VISIT: &str = concat!(
    "select ",
    visit_columns!(),
    ", x.name as resident_name, x.phone as resident_phone, x.address as resident_address
    from visits v join residents x on x.id = v.resident_id where v.id = $1"
);
const LIST_VISITS: &str = concat!(
    "select ",
    visit_columns!(),
    ", x.name as resident_name, x.phone as resident_phone, x.address as resident_address
    from visits v join residents x on x.id = v.resident_id
    where v.community_id = $1
      and ($2 is null or (v.window_end, v.id) > (select c.window_end, c.id from visits c where c.id = $2))
      and ($3 is null or v.status = $3)
      and ($4 is null or v.resident_id = $4)
      and ($5 is null or x.grid_id = $5)
      and ($6 is null or v.plan_id = $6)
      and ($7 is null or v.window_end >= $7)
      and ($8 is null or v.window_start < $8)
      and ($9 is null or v.plan_id in (select m.plan_id from care_team_members m where m.user_id = $9)
           or (v.plan_id is null and ",
    grid_served_by!("v.grid_id", "$9"),
    "))
      and ($10 is null or ",
    grid_served_by!("x.grid_id", "$10"),
    "
           or v.plan_id in (select m.plan_id from care_team_members m where m.user_id = $10))
    order by v.window_end, v.id limit $11"
);
const INSERT_EVENT: &str = "insert into visit_events (id, visit_id, community_id, kind, actor_id,
    data, at) values ($1, $2, $3, $4, $5, $6, $7)";
const INSERT_OUTBOX: &str = "insert into outbox (id, community_id, topic, aggregate_type,
    aggregate_id, payload, created_at, delivered_at) values ($1, $2, $3, 'visit', $4, $5, $6, null)";
const INSERT_NEED: &str = "insert into visit_needs (visit_id, request_id) values ($1, $2)";
const NEEDS: &str = "select request_id from visit_needs where visit_id = $1 order by request_id";

/// The statements one visit change runs inside its transaction, written once for both backends.
pub(crate) trait VisitExec {
    /// Inserts a visit unless its plan window already has one; how many rows were written.
    async fn insert_visit(&mut self, v: &VisitRow) -> StoreResult<u64>;
    async fn visit_event(&mut self, e: &VisitEvent) -> StoreResult<()>;
    /// A resident record saved: open visits follow a move to another grid, and a resident no
    /// longer active has their plan ended and their visits not yet started cancelled.
    async fn resident_saved(
        &mut self,
        resident_id: Uuid,
        grid_id: Option<Uuid>,
        active: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
}

macro_rules! impl_visit_exec {
    ($conn:ty) => {
        impl VisitExec for $conn {
            async fn insert_visit(&mut self, v: &VisitRow) -> StoreResult<u64> {
                Ok(sqlx::query(INSERT_VISIT)
                    .bind(v.id)
                    .bind(v.community_id)
                    .bind(v.resident_id)
                    .bind(v.grid_id)
                    .bind(v.plan_id)
                    .bind(v.epoch)
                    .bind(v.seq)
                    .bind(&v.reason)
                    .bind(&v.contact_kind)
                    .bind(v.window_start)
                    .bind(v.window_end)
                    .bind(&v.status)
                    .bind(v.created_at)
                    .execute(&mut *self)
                    .await?
                    .rows_affected())
            }

            async fn visit_event(&mut self, e: &VisitEvent) -> StoreResult<()> {
                let id = Uuid::now_v7();
                sqlx::query(INSERT_EVENT)
                    .bind(id)
                    .bind(e.visit_id)
                    .bind(e.community_id)
                    .bind(e.kind)
                    .bind(e.actor_id)
                    .bind(Json(&e.data))
                    .bind(e.at)
                    .execute(&mut *self)
                    .await?;
                let payload = json!({"event_id": id, "visit_id": e.visit_id,
                    "community_id": e.community_id, "kind": e.kind, "actor_id": e.actor_id,
                    "data": e.data, "at": e.at});
                sqlx::query(INSERT_OUTBOX)
                    .bind(Uuid::now_v7())
                    .bind(e.community_id)
                    .bind(format!("visit.{}", e.kind))
                    .bind(e.visit_id)
                    .bind(Json(payload))
                    .bind(e.at)
                    .execute(&mut *self)
                    .await?;
                Ok(())
            }

            async fn resident_saved(
                &mut self,
                resident_id: Uuid,
                grid_id: Option<Uuid>,
                active: bool,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(REGRID_OPEN)
                    .bind(resident_id)
                    .bind(grid_id)
                    .execute(&mut *self)
                    .await?;
                if !active {
                    sqlx::query(END_PLANS_OF)
                        .bind(resident_id)
                        .bind(at)
                        .execute(&mut *self)
                        .await?;
                    let m = super::bulk(Action::Cancel)?;
                    sqlx::query(CANCEL_OPEN_OF)
                        .bind(resident_id)
                        .bind(at)
                        .bind(m.from.as_str())
                        .bind(m.to.as_str())
                        .execute(&mut *self)
                        .await?;
                }
                Ok(())
            }
        }
    };
}
impl_visit_exec!(sqlx::SqliteConnection);
impl_visit_exec!(sqlx::PgConnection);

/// A change to one visit: its new state if still at `expected_version`, its event, the needs
/// found on it as new help requests, a grade raised by the finding and a follow-up visit.
pub struct VisitChange<'a> {
    pub visit: &'a VisitRow,
    pub expected_version: i64,
    pub event: VisitEvent,
    pub needs: &'a [(HelpRequestRow, Effects)],
    pub grade: Option<GradeUpdate>,
    pub follow_up: Option<VisitRow>,
    /// A volunteer's visit counts as service time.
    pub hours: Option<HoursRow>,
}

pub async fn apply(db: &Db, c: &VisitChange<'_>) -> StoreResult<VisitRow> {
    let v = c.visit;
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("visit", v.id);
        let n = sqlx::query(UPDATE_VISIT).bind(v.id).bind(c.expected_version).bind(v.status)
            .bind(v.started_at).bind(v.started_by).bind(v.completed_at).bind(v.completed_by)
            .bind(v.performed_contact_kind).bind(v.duration_minutes).bind(v.condition)
            .bind(&v.observations).bind(&v.cancel_reason).bind(v.updated_at)
            .execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            let e: i64 = sqlx::query_scalar(VISIT_EXISTS).bind(v.id).fetch_one(&mut *tx).await?;
            return Err(stale_or_missing(e > 0));
        }
        tx.visit_event(&c.event).await?;
        for (r, fx) in c.needs {
            tx.insert_request(r, fx).await?;
            sqlx::query(INSERT_NEED).bind(v.id).bind(r.id).execute(&mut *tx).await?;
        }
        if let Some(g) = &c.grade {
            tx.grade(g, None).await?;
        }
        if let Some(f) = &c.follow_up {
            tx.insert_visit(f).await?;
        }
        if let Some(h) = &c.hours {
            let fx = Effects { at: v.updated_at, hours: Some(h.clone()), ..Effects::default() };
            tx.write_effects(v.id, &fx).await?;
        }
        let saved: VisitWithResident = sqlx::query_as(GET_VISIT).bind(v.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(saved.visit)
    })
}

/// A major change and the visit it brings.
pub async fn report_major_change(db: &Db, m: &MajorChangeRow, visit: &VisitRow) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("visit", visit.id);
        tx.insert_visit(visit).await?;
        sqlx::query(INSERT_MAJOR).bind(m.id).bind(m.community_id).bind(m.resident_id).bind(&m.kind)
            .bind(&m.description).bind(m.occurred_at).bind(m.reported_by).bind(m.visit_id).bind(m.at)
            .execute(&mut *tx).await?;
        tx.visit_event(&VisitEvent {
            visit_id: visit.id,
            community_id: visit.community_id,
            kind: "major_change",
            actor_id: Some(m.reported_by),
            data: json!({"kind": m.kind, "resident_id": m.resident_id, "major_change_id": m.id,
                "due": visit.window_end, "notify": ["care_team", "grid_worker"]}),
            at: m.at,
        }).await?;
        tx.commit().await?;
        Ok(())
    })
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<VisitWithResident> {
    Ok(on_db!(db, pool => sqlx::query_as(GET_VISIT).bind(id).fetch_one(pool).await)?)
}

pub async fn needs(db: &Db, visit_id: Uuid) -> StoreResult<Vec<Uuid>> {
    Ok(on_db!(db, pool => sqlx::query_scalar(NEEDS).bind(visit_id).fetch_all(pool).await)?)
}

#[derive(Debug, Default)]
pub struct VisitFilter {
    pub community_id: Uuid,
    pub status: Option<String>,
    pub resident_id: Option<Uuid>,
    pub grid_id: Option<Uuid>,
    pub plan_id: Option<Uuid>,
    /// Windows ending at or after this.
    pub due_from: Option<DateTime<Utc>>,
    /// Windows starting before this.
    pub due_to: Option<DateTime<Utc>>,
    /// Only the visits this user is on the team of.
    pub assigned_to: Option<Uuid>,
    /// Not staff: only visits of this user's grids or teams.
    pub visible_to: Option<Uuid>,
}

/// Visits by due time (window end), then id; `after` is the last visit of the previous page.
pub async fn list(
    db: &Db,
    f: &VisitFilter,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<VisitWithResident>> {
    Ok(
        on_db!(db, pool => sqlx::query_as(LIST_VISITS).bind(f.community_id).bind(after)
        .bind(&f.status).bind(f.resident_id).bind(f.grid_id).bind(f.plan_id).bind(f.due_from)
        .bind(f.due_to).bind(f.assigned_to).bind(f.visible_to).bind(limit).fetch_all(pool).await)?,
    )
}
