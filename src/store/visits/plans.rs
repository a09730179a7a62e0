//! Visit plans and their care teams: a plan's schedule (epoch, anchor, cursor) and who is on
//! its team. A re-plan starts a new epoch and cancels the windows not yet begun.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::domain::visit::Action;
use crate::store::registry::grids::grid_served_by;

use crate::store::{BeginWrite, Db, StoreResult, on_db, stale_or_missing};

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

/// A plan's new epoch: future windows not yet started are cancelled and counted again from
/// `anchor_on`.
#[derive(Debug, Clone)]
pub struct Replan {
    pub plan_id: Uuid,
    pub anchor_on: NaiveDate,
    pub next_start: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

macro_rules! plan_columns {
    () => {
        "id, community_id, resident_id, frequency_days, contact_kinds, starts_on, ends_on, notes,
        active, epoch, anchor_on, next_seq, next_start, created_by, version, created_at, updated_at"
    };
}

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
      and ($7 is null or p.resident_id in (select x.id from residents x where ",
    grid_served_by!("x.grid_id", "$7"),
    ")
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
const CANCEL_FUTURE: &str = "update visits set status = $5, cancel_reason = $3,
    version = version + 1, updated_at = $2
    where plan_id = $1 and status = $4 and reason = 'plan' and window_end > $2";
const END_PLAN: &str = "update visit_plans set active = false, next_start = null,
    version = version + 1, updated_at = $3 where id = $1 and version = $2 and active";
const TEAM_RESIDENTS: &str = "select distinct p.resident_id from visit_plans p
    join care_team_members m on m.plan_id = p.id
    where p.community_id = $1 and p.active and m.user_id = $2";

/// A plan's statements inside a transaction another use case owns, for both backends.
pub(crate) trait PlanExec {
    /// A new epoch counted from `r.anchor_on`; the windows not yet begun are cancelled.
    async fn replan(&mut self, r: &Replan) -> StoreResult<()>;
    /// The plan's windows not yet begun that end after `at` are cancelled with `reason`.
    async fn cancel_future(
        &mut self,
        plan_id: Uuid,
        at: DateTime<Utc>,
        reason: &str,
    ) -> StoreResult<()>;
}

macro_rules! impl_plan_exec {
    ($conn:ty) => {
        impl PlanExec for $conn {
            async fn replan(&mut self, r: &Replan) -> StoreResult<()> {
                sqlx::query(REPLAN_PLAN)
                    .bind(r.plan_id)
                    .bind(r.anchor_on)
                    .bind(r.next_start)
                    .bind(r.at)
                    .execute(&mut *self)
                    .await?;
                self.cancel_future(r.plan_id, r.at, "replanned").await
            }

            async fn cancel_future(
                &mut self,
                plan_id: Uuid,
                at: DateTime<Utc>,
                reason: &str,
            ) -> StoreResult<()> {
                let m = super::bulk(Action::Cancel)?;
                sqlx::query(CANCEL_FUTURE)
                    .bind(plan_id)
                    .bind(at)
                    .bind(reason)
                    .bind(m.from.as_str())
                    .bind(m.to.as_str())
                    .execute(&mut *self)
                    .await?;
                Ok(())
            }
        }
    };
}
impl_plan_exec!(sqlx::SqliteConnection);
impl_plan_exec!(sqlx::PgConnection);

/// Creates a plan with its team. `Conflict` when the resident already has an active plan.
pub async fn create_plan(db: &Db, p: &PlanRow, team: &[(Uuid, String)]) -> StoreResult<PlanRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("visit_plan", p.id);
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
        tx.subject("visit_plan", p.id);
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
            tx.cancel_future(p.id, p.updated_at, "plan_ended").await?;
        } else if let Some(r) = replan {
            tx.replan(r).await?;
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
