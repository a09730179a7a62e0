//! Visit plans, care teams, visits, grades and assessments (未呼先应). Every use case is one
//! transaction; generation takes its plans with `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite
//! has one writer), and the unique key (plan, epoch, window) makes a second run create nothing.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::requests::help_requests::{Effects, HelpRequestRow, HoursRow, RequestExec};
use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db, stale_or_missing};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    pub frequency_days: Option<i64>,
    /// Comma-separated contact kinds, taken in turn by consecutive windows.
    pub contact_kinds: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub notes: Option<String>,
    pub active: bool,
    pub epoch: i64,
    pub anchor_on: NaiveDate,
    pub next_seq: i64,
    pub next_start: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub plan_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub display_name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisitRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    pub grid_id: Option<Uuid>,
    pub plan_id: Option<Uuid>,
    pub epoch: Option<i64>,
    pub seq: Option<i64>,
    pub reason: String,
    pub contact_kind: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub started_by: Option<Uuid>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<Uuid>,
    pub performed_contact_kind: Option<String>,
    pub duration_minutes: Option<i64>,
    pub condition: Option<String>,
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

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GradeChangeRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    pub from_grade: Option<String>,
    pub to_grade: Option<String>,
    pub source: String,
    pub reason: Option<String>,
    pub actor_id: Option<Uuid>,
    pub visit_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssessmentRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    pub health: i64,
    pub social_support: i64,
    pub home_safety: i64,
    pub notes: Option<String>,
    pub assessed_by: Option<Uuid>,
    pub at: DateTime<Utc>,
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

/// The grade a resident moves to, with its history row; `replan` starts the plan that
/// follows the grade afresh.
#[derive(Debug, Clone)]
pub struct GradeUpdate {
    pub change: GradeChangeRow,
    pub replan: Option<Replan>,
}

/// A plan's new epoch: future windows not yet started are cancelled and counted again from
/// `anchor_on`.
#[derive(Debug, Clone)]
pub struct Replan {
    pub plan_id: Uuid,
    pub anchor_on: NaiveDate,
    pub next_start: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

/// An active plan due for generation, with what computing its windows needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DuePlan {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    pub grid_id: Option<Uuid>,
    pub care_level: Option<String>,
    pub frequency_days: Option<i64>,
    pub contact_kinds: String,
    pub anchor_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub epoch: i64,
    pub next_seq: i64,
}

/// What generation made of one plan: its new visits and where it continues.
#[derive(Debug, Clone)]
pub struct Generated {
    pub plan_id: Uuid,
    pub visits: Vec<VisitRow>,
    pub next_seq: i64,
    pub next_start: Option<DateTime<Utc>>,
}

macro_rules! visit_columns {
    () => {
        "v.id, v.community_id, v.resident_id, v.grid_id, v.plan_id, v.epoch, v.seq, v.reason,
        v.contact_kind, v.window_start, v.window_end, v.status, v.started_at, v.started_by,
        v.completed_at, v.completed_by, v.performed_contact_kind, v.duration_minutes, v.condition,
        v.observations, v.cancel_reason, v.version, v.created_at, v.updated_at"
    };
}
macro_rules! plan_columns {
    () => {
        "id, community_id, resident_id, frequency_days, contact_kinds, starts_on, ends_on, notes,
        active, epoch, anchor_on, next_seq, next_start, created_by, version, created_at, updated_at"
    };
}

const INSERT_VISIT: &str = "insert into visits (id, community_id, resident_id, grid_id, plan_id,
    epoch, seq, reason, contact_kind, window_start, window_end, status, version, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13)
    on conflict (plan_id, epoch, seq) do nothing";
const INSERT_VISITS_PG: &str = "insert into visits (id, community_id, resident_id, grid_id, plan_id,
    epoch, seq, reason, contact_kind, window_start, window_end, status, version, created_at, updated_at)
    select u.id, u.community_id, u.resident_id, u.grid_id, u.plan_id, u.epoch, u.seq, 'plan',
        u.contact_kind, u.window_start, u.window_end, 'scheduled', 1, $10, $10
    from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::bigint[], $7::bigint[],
        $8::text[], $9::timestamptz[], $11::timestamptz[])
        as u(id, community_id, resident_id, grid_id, plan_id, epoch, seq, contact_kind, window_start, window_end)
    on conflict (plan_id, epoch, seq) do nothing";
const ADVANCE_PLAN: &str =
    "update visit_plans set next_seq = $2, next_start = $3 where id = $1 and epoch = $4";
const ADVANCE_PLANS_PG: &str = "update visit_plans p set next_seq = u.seq, next_start = u.start
    from unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::bigint[]) as u(id, seq, start, epoch)
    where p.id = u.id and p.epoch = u.epoch";
const DUE_PLANS_PG: &str = "select p.id, p.community_id, p.resident_id, r.grid_id, r.care_level,
    p.frequency_days, p.contact_kinds, p.anchor_on, p.ends_on, p.epoch, p.next_seq
    from visit_plans p join residents r on r.id = p.resident_id
    where p.community_id = $3 and p.active and p.next_start < $1
    order by p.next_start limit $2 for update of p skip locked";
const DUE_PLANS_SQLITE: &str =
    "select p.id, p.community_id, p.resident_id, r.grid_id, r.care_level,
    p.frequency_days, p.contact_kinds, p.anchor_on, p.ends_on, p.epoch, p.next_seq
    from visit_plans p join residents r on r.id = p.resident_id
    where p.community_id = $3 and p.active and p.next_start < $1
    order by p.next_start limit $2";
const ANY_DUE_PLAN: &str = "select count(*) from (select 1 from visit_plans p
    where p.community_id = $1 and p.active and p.next_start < $2 limit 1) x";
const ANY_MISSED: &str = "select count(*) from (select 1 from visits v
    where v.status = 'scheduled' and v.window_end <= $1 limit 1) x";
const INSERT_PLAN: &str = concat!(
    "insert into visit_plans (",
    plan_columns!(),
    ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
);
const UPDATE_PLAN: &str = "update visit_plans set frequency_days = $3, contact_kinds = $4,
    starts_on = $5, ends_on = $6, notes = $7, active = $8, version = version + 1, updated_at = $9
    where id = $1 and version = $2";
const GET_PLAN: &str = concat!(
    "select ",
    plan_columns!(),
    " from visit_plans where id = $1"
);
const ACTIVE_PLAN: &str = concat!(
    "select ",
    plan_columns!(),
    " from visit_plans where resident_id = $1 and active"
);
const LIST_PLANS: &str = concat!(
    "select ",
    plan_columns!(),
    " from visit_plans p where p.community_id = $1
      and ($2 is null or p.id > $2)
      and ($3 is null or p.resident_id = $3)
      and ($4 is null or p.active = $4)
      and ($5 is null or p.resident_id in (select x.id from residents x where x.grid_id = $5))
      and ($6 is null or p.id in (select m.plan_id from care_team_members m where m.user_id = $6))
      and ($7 is null or p.resident_id in (select x.id from residents x join grid_workers g on g.grid_id = x.grid_id where g.user_id = $7)
           or p.id in (select m.plan_id from care_team_members m where m.user_id = $7))
    order by p.id limit $8"
);
const PLAN_EXISTS: &str = "select count(*) from visit_plans where id = $1";
const INSERT_MEMBER: &str =
    "insert into care_team_members (plan_id, user_id, role) values ($1, $2, $3)";
const CLEAR_MEMBERS: &str = "delete from care_team_members where plan_id = $1";
const MEMBERS: &str = "select m.plan_id, m.user_id, m.role, u.display_name
    from care_team_members m join users u on u.id = m.user_id where m.plan_id = $1 order by m.role, u.display_name";
const REPLAN_PLAN: &str = "update visit_plans set epoch = epoch + 1, anchor_on = $2, next_seq = 0,
    next_start = $3, updated_at = $4 where id = $1 and active";
const CANCEL_FUTURE: &str = "update visits set status = 'cancelled', cancel_reason = $3,
    version = version + 1, updated_at = $2
    where plan_id = $1 and status = 'scheduled' and reason = 'plan' and window_end > $2";
const REGRID_OPEN: &str = "update visits set grid_id = $2
    where resident_id = $1 and status in ('scheduled', 'in_progress')";
const END_PLANS_OF: &str = "update visit_plans set active = false, next_start = null,
    version = version + 1, updated_at = $2 where resident_id = $1 and active";
const CANCEL_OPEN_OF: &str =
    "update visits set status = 'cancelled', cancel_reason = 'resident_inactive',
    version = version + 1, updated_at = $2 where resident_id = $1 and status = 'scheduled'";
const END_PLAN: &str = "update visit_plans set active = false, next_start = null,
    version = version + 1, updated_at = $3 where id = $1 and version = $2 and active";
const SET_GRADE: &str = "update residents set care_level = $2, grade_source = $3,
    version = version + 1, updated_at = $4 where id = $1";
const SET_GRADE_GUARDED: &str = "update residents set care_level = $2, grade_source = $3,
    version = version + 1, updated_at = $4 where id = $1 and version = $5";
const INSERT_GRADE: &str = "insert into grade_changes (id, community_id, resident_id, from_grade,
    to_grade, source, reason, actor_id, visit_id, at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const GRADE_OF: &str = "select care_level, grade_source, version from residents where id = $1";
const GRADES: &str = "select id, community_id, resident_id, from_grade, to_grade, source, reason,
    actor_id, visit_id, at from grade_changes where resident_id = $1 and ($2 is null or id < $2)
    order by id desc limit $3";
const INSERT_ASSESSMENT: &str = "insert into assessments (id, community_id, resident_id, health,
    social_support, home_safety, notes, assessed_by, at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const ASSESSMENTS: &str =
    "select id, community_id, resident_id, health, social_support, home_safety,
    notes, assessed_by, at from assessments where resident_id = $1 and ($2 is null or id < $2)
    order by id desc limit $3";
const LAST_ASSESSMENT: &str = "select id, community_id, resident_id, health, social_support,
    home_safety, notes, assessed_by, at from assessments where resident_id = $1 order by id desc limit 1";
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
           or (v.plan_id is null and v.grid_id in (select g.grid_id from grid_workers g where g.user_id = $9)))
      and ($10 is null or x.grid_id in (select g.grid_id from grid_workers g where g.user_id = $10)
           or v.plan_id in (select m.plan_id from care_team_members m where m.user_id = $10))
    order by v.window_end, v.id limit $11"
);
const INSERT_EVENT: &str = "insert into visit_events (id, visit_id, community_id, kind, actor_id,
    data, at) values ($1, $2, $3, $4, $5, $6, $7)";
const INSERT_OUTBOX: &str = "insert into outbox (id, community_id, topic, aggregate_type,
    aggregate_id, payload, created_at, delivered_at) values ($1, $2, $3, 'visit', $4, $5, $6, null)";
const INSERT_NEED: &str = "insert into visit_needs (visit_id, request_id) values ($1, $2)";
const NEEDS: &str = "select request_id from visit_needs where visit_id = $1 order by request_id";
const DUE_MISSED: &str = concat!(
    "select ",
    visit_columns!(),
    " from visits v where v.status = 'scheduled' and v.window_end <= $1 order by v.window_end limit $2"
);
const MARK_MISSED: &str =
    "update visits set status = 'missed', version = version + 1, updated_at = $2
    where id = $1 and status = 'scheduled'";
const TEAM_RESIDENTS: &str = "select distinct p.resident_id from visit_plans p
    join care_team_members m on m.plan_id = p.id
    where p.community_id = $1 and p.active and m.user_id = $2";

/// The statements one visit change runs inside its transaction, written once for both backends.
pub(crate) trait VisitExec {
    /// Inserts a visit unless its plan window already has one; how many rows were written.
    async fn insert_visit(&mut self, v: &VisitRow) -> StoreResult<u64>;
    async fn visit_event(&mut self, e: &VisitEvent) -> StoreResult<()>;
    async fn grade(&mut self, g: &GradeUpdate, resident_version: Option<i64>) -> StoreResult<()>;
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

            async fn grade(
                &mut self,
                g: &GradeUpdate,
                resident_version: Option<i64>,
            ) -> StoreResult<()> {
                let c = &g.change;
                // The plan row first: it waits for a generation run holding it, and the
                // cancellation below then sees that run's visits.
                if let Some(r) = &g.replan {
                    sqlx::query(REPLAN_PLAN)
                        .bind(r.plan_id)
                        .bind(r.anchor_on)
                        .bind(r.next_start)
                        .bind(r.at)
                        .execute(&mut *self)
                        .await?;
                    sqlx::query(CANCEL_FUTURE)
                        .bind(r.plan_id)
                        .bind(r.at)
                        .bind("replanned")
                        .execute(&mut *self)
                        .await?;
                }
                let n = match resident_version {
                    Some(v) => sqlx::query(SET_GRADE_GUARDED)
                        .bind(c.resident_id)
                        .bind(&c.to_grade)
                        .bind(&c.source)
                        .bind(c.at)
                        .bind(v)
                        .execute(&mut *self)
                        .await?
                        .rows_affected(),
                    None => sqlx::query(SET_GRADE)
                        .bind(c.resident_id)
                        .bind(&c.to_grade)
                        .bind(&c.source)
                        .bind(c.at)
                        .execute(&mut *self)
                        .await?
                        .rows_affected(),
                };
                if n == 0 {
                    return Err(StoreError::StaleVersion);
                }
                if c.from_grade != c.to_grade {
                    sqlx::query(INSERT_GRADE)
                        .bind(c.id)
                        .bind(c.community_id)
                        .bind(c.resident_id)
                        .bind(&c.from_grade)
                        .bind(&c.to_grade)
                        .bind(&c.source)
                        .bind(&c.reason)
                        .bind(c.actor_id)
                        .bind(c.visit_id)
                        .bind(c.at)
                        .execute(&mut *self)
                        .await?;
                }
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
                    sqlx::query(CANCEL_OPEN_OF)
                        .bind(resident_id)
                        .bind(at)
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
        let n = sqlx::query(UPDATE_VISIT).bind(v.id).bind(c.expected_version).bind(&v.status)
            .bind(v.started_at).bind(v.started_by).bind(v.completed_at).bind(v.completed_by)
            .bind(&v.performed_contact_kind).bind(v.duration_minutes).bind(&v.condition)
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

/// A grade change on its own (an assessment or a manual grade), guarded by the resident's
/// version, with the assessment that caused it.
pub async fn change_grade(
    db: &Db,
    g: &GradeUpdate,
    resident_version: i64,
    assessment: Option<&AssessmentRow>,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        if let Some(a) = assessment {
            sqlx::query(INSERT_ASSESSMENT).bind(a.id).bind(a.community_id).bind(a.resident_id)
                .bind(a.health).bind(a.social_support).bind(a.home_safety).bind(&a.notes)
                .bind(a.assessed_by).bind(a.at).execute(&mut *tx).await?;
        }
        tx.grade(g, Some(resident_version)).await?;
        tx.commit().await?;
        Ok(())
    })
}

/// A major change and the visit it brings.
pub async fn report_major_change(db: &Db, m: &MajorChangeRow, visit: &VisitRow) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
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

pub async fn grade_of(
    db: &Db,
    resident_id: Uuid,
) -> StoreResult<(Option<String>, Option<String>, i64)> {
    Ok(on_db!(db, pool => sqlx::query_as(GRADE_OF).bind(resident_id).fetch_one(pool).await)?)
}

pub async fn grade_changes(
    db: &Db,
    resident_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<GradeChangeRow>> {
    Ok(
        on_db!(db, pool => sqlx::query_as(GRADES).bind(resident_id).bind(after).bind(limit)
        .fetch_all(pool).await)?,
    )
}

pub async fn assessments(
    db: &Db,
    resident_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<AssessmentRow>> {
    Ok(
        on_db!(db, pool => sqlx::query_as(ASSESSMENTS).bind(resident_id).bind(after).bind(limit)
        .fetch_all(pool).await)?,
    )
}

pub async fn last_assessment(db: &Db, resident_id: Uuid) -> StoreResult<Option<AssessmentRow>> {
    Ok(
        on_db!(db, pool => sqlx::query_as(LAST_ASSESSMENT).bind(resident_id)
        .fetch_optional(pool).await)?,
    )
}

/// Creates a plan with its team. `Conflict` when the resident already has an active plan.
pub async fn create_plan(db: &Db, p: &PlanRow, team: &[(Uuid, String)]) -> StoreResult<PlanRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(INSERT_PLAN).bind(p.id).bind(p.community_id).bind(p.resident_id)
            .bind(p.frequency_days).bind(&p.contact_kinds).bind(p.starts_on).bind(p.ends_on)
            .bind(&p.notes).bind(p.active).bind(p.epoch).bind(p.anchor_on).bind(p.next_seq)
            .bind(p.next_start).bind(p.created_by).bind(p.version).bind(p.created_at).bind(p.updated_at)
            .execute(&mut *tx).await?;
        for (user, role) in team {
            sqlx::query(INSERT_MEMBER).bind(p.id).bind(user).bind(role).execute(&mut *tx).await?;
        }
        let saved: PlanRow = sqlx::query_as(GET_PLAN).bind(p.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(saved)
    })
}

/// Updates a plan if still at `expected_version`: its fields, its team when given, and a new
/// epoch when its schedule changed. An ended plan cancels its visits not yet started.
pub async fn update_plan(
    db: &Db,
    p: &PlanRow,
    expected_version: i64,
    team: Option<&[(Uuid, String)]>,
    replan: Option<&Replan>,
) -> StoreResult<PlanRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = if p.active {
            sqlx::query(UPDATE_PLAN).bind(p.id).bind(expected_version).bind(p.frequency_days)
                .bind(&p.contact_kinds).bind(p.starts_on).bind(p.ends_on).bind(&p.notes).bind(p.active)
                .bind(p.updated_at).execute(&mut *tx).await?.rows_affected()
        } else {
            sqlx::query(END_PLAN).bind(p.id).bind(expected_version).bind(p.updated_at)
                .execute(&mut *tx).await?.rows_affected()
        };
        if n == 0 {
            let e: i64 = sqlx::query_scalar(PLAN_EXISTS).bind(p.id).fetch_one(&mut *tx).await?;
            return Err(stale_or_missing(e > 0));
        }
        if let Some(team) = team {
            sqlx::query(CLEAR_MEMBERS).bind(p.id).execute(&mut *tx).await?;
            for (user, role) in team {
                sqlx::query(INSERT_MEMBER).bind(p.id).bind(user).bind(role).execute(&mut *tx).await?;
            }
        }
        if !p.active {
            sqlx::query(CANCEL_FUTURE).bind(p.id).bind(p.updated_at).bind("plan_ended")
                .execute(&mut *tx).await?;
        } else if let Some(r) = replan {
            sqlx::query(REPLAN_PLAN).bind(r.plan_id).bind(r.anchor_on).bind(r.next_start).bind(r.at)
                .execute(&mut *tx).await?;
            sqlx::query(CANCEL_FUTURE).bind(r.plan_id).bind(r.at).bind("replanned")
                .execute(&mut *tx).await?;
        }
        let saved: PlanRow = sqlx::query_as(GET_PLAN).bind(p.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(saved)
    })
}

pub async fn plan(db: &Db, id: Uuid) -> StoreResult<PlanRow> {
    Ok(on_db!(db, pool => sqlx::query_as(GET_PLAN).bind(id).fetch_one(pool).await)?)
}

pub async fn active_plan(db: &Db, resident_id: Uuid) -> StoreResult<Option<PlanRow>> {
    Ok(
        on_db!(db, pool => sqlx::query_as(ACTIVE_PLAN).bind(resident_id).fetch_optional(pool).await)?,
    )
}

#[derive(Debug, Default)]
pub struct PlanFilter {
    pub community_id: Uuid,
    pub resident_id: Option<Uuid>,
    pub active: Option<bool>,
    pub grid_id: Option<Uuid>,
    pub member_id: Option<Uuid>,
    /// Not staff: only plans of this user's grids or teams.
    pub visible_to: Option<Uuid>,
}

pub async fn plans(
    db: &Db,
    f: &PlanFilter,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<PlanRow>> {
    Ok(
        on_db!(db, pool => sqlx::query_as(LIST_PLANS).bind(f.community_id).bind(after)
        .bind(f.resident_id).bind(f.active).bind(f.grid_id).bind(f.member_id).bind(f.visible_to)
        .bind(limit).fetch_all(pool).await)?,
    )
}

pub async fn members(db: &Db, plan_id: Uuid) -> StoreResult<Vec<MemberRow>> {
    Ok(on_db!(db, pool => sqlx::query_as(MEMBERS).bind(plan_id).fetch_all(pool).await)?)
}

/// The residents whose active plans the user is on.
pub async fn team_residents(db: &Db, community_id: Uuid, user_id: Uuid) -> StoreResult<Vec<Uuid>> {
    Ok(
        on_db!(db, pool => sqlx::query_scalar(TEAM_RESIDENTS).bind(community_id).bind(user_id)
        .fetch_all(pool).await)?,
    )
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

/// Whether any of the community's plans is due for generation before `until`: a read, so that
/// the job takes no write lock when there is nothing to do.
pub async fn any_due(db: &Db, community_id: Uuid, until: DateTime<Utc>) -> StoreResult<bool> {
    let n: i64 = on_db!(db, pool => sqlx::query_scalar(ANY_DUE_PLAN).bind(community_id).bind(until)
        .fetch_one(pool).await)?;
    Ok(n > 0)
}

/// Whether any scheduled visit's window has ended by `now`.
pub async fn any_missed(db: &Db, now: DateTime<Utc>) -> StoreResult<bool> {
    let n: i64 =
        on_db!(db, pool => sqlx::query_scalar(ANY_MISSED).bind(now).fetch_one(pool).await)?;
    Ok(n > 0)
}

/// Takes up to `limit` of a community's plans due for generation before `until`, lets `compute` make their
/// windows, and stores the visits and each plan's new cursor in one transaction. Returns how
/// many plans were taken and visits created.
pub async fn generate_batch(
    db: &Db,
    community_id: Uuid,
    until: DateTime<Utc>,
    limit: i64,
    now: DateTime<Utc>,
    compute: impl Fn(&DuePlan) -> Generated,
) -> StoreResult<(usize, u64)> {
    match db {
        Db::Postgres(pool) => {
            let mut tx = pool.begin_write().await?;
            let due: Vec<DuePlan> = sqlx::query_as(DUE_PLANS_PG)
                .bind(until)
                .bind(limit)
                .bind(community_id)
                .fetch_all(&mut *tx)
                .await?;
            let made: Vec<Generated> = due.iter().map(&compute).collect();
            let visits = made.iter().flat_map(|g| g.visits.iter());
            let n = visits.clone().count();
            let mut cols = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for v in visits {
                cols.0.push(v.id);
                cols.1.push(v.community_id);
                cols.2.push(v.resident_id);
                cols.3.push(v.grid_id);
                cols.4.push(v.plan_id);
                cols.5.push(v.epoch);
                cols.6.push(v.seq);
                cols.7.push(v.contact_kind.clone());
                cols.8.push(v.window_start);
                cols.9.push(v.window_end);
            }
            let created = sqlx::query(INSERT_VISITS_PG)
                .bind(cols.0)
                .bind(cols.1)
                .bind(cols.2)
                .bind(cols.3)
                .bind(cols.4)
                .bind(cols.5)
                .bind(cols.6)
                .bind(cols.7)
                .bind(cols.8)
                .bind(now)
                .bind(cols.9)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let ids: Vec<Uuid> = made.iter().map(|g| g.plan_id).collect();
            let seqs: Vec<i64> = made.iter().map(|g| g.next_seq).collect();
            let starts: Vec<Option<DateTime<Utc>>> = made.iter().map(|g| g.next_start).collect();
            let epochs: Vec<i64> = due.iter().map(|d| d.epoch).collect();
            sqlx::query(ADVANCE_PLANS_PG)
                .bind(ids)
                .bind(seqs)
                .bind(starts)
                .bind(epochs)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok((due.len(), created))
        }
        Db::Sqlite(pool) => {
            let mut tx = pool.begin_write().await?;
            let due: Vec<DuePlan> = sqlx::query_as(DUE_PLANS_SQLITE)
                .bind(until)
                .bind(limit)
                .bind(community_id)
                .fetch_all(&mut *tx)
                .await?;
            let mut created = 0;
            for (d, g) in due.iter().map(|d| (d, compute(d))) {
                for v in &g.visits {
                    created += tx.insert_visit(v).await?;
                }
                sqlx::query(ADVANCE_PLAN)
                    .bind(g.plan_id)
                    .bind(g.next_seq)
                    .bind(g.next_start)
                    .bind(d.epoch)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok((due.len(), created))
        }
    }
}

/// Marks up to `limit` scheduled visits whose window ended by `now` as missed, each with its
/// alert event, and returns them.
pub async fn mark_missed(db: &Db, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<VisitRow>> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let due: Vec<VisitRow> = sqlx::query_as(DUE_MISSED).bind(now).bind(limit).fetch_all(&mut *tx).await?;
        let mut out = Vec::with_capacity(due.len());
        for v in due {
            let n = sqlx::query(MARK_MISSED).bind(v.id).bind(now).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                continue;
            }
            tx.visit_event(&VisitEvent {
                visit_id: v.id,
                community_id: v.community_id,
                kind: "missed",
                actor_id: None,
                data: json!({"resident_id": v.resident_id, "grid_id": v.grid_id,
                    "window_end": v.window_end, "alert": "visit_missed",
                    "notify": ["grid_worker", "dispatchers"]}),
                at: now,
            }).await?;
            out.push(v);
        }
        tx.commit().await?;
        Ok(out)
    })
}
