//! Visit coverage (月探访率): visits due in a period by grid, by assignee, and the residents
//! whose window passed without a visit. Aggregated in SQL over the `visits_coverage` index.
//! The statements are not kept prepared: a cached generic plan cannot see how long the period
//! is (PostgreSQL guessed hundreds of rows for a year's 160,000, and sorted on disk), so each
//! report is planned with its own values, for a millisecond or two.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::registry::grids::{grid_served_by, grid_service};
use crate::store::{Db, StoreResult, on_db};

/// A visit counts as due in a period when its window ended in it (by `now`), or it was done.
macro_rules! due_in_period {
    () => {
        concat!(
            "v.community_id = $1 and v.window_end >= $2 and v.window_end < $3 and v.status <> 'cancelled'
             and (v.window_end <= $4 or v.status = 'completed')
             and ($5 is null or ",
            grid_served_by!("v.grid_id", "$5"),
            ")"
        )
    };
}
macro_rules! tallies {
    () => {
        "count(*) as due,
        cast(coalesce(sum(case when v.status = 'completed' and v.completed_at <= v.window_end then 1 else 0 end), 0) as bigint) as on_time,
        cast(coalesce(sum(case when v.status = 'completed' and v.completed_at > v.window_end then 1 else 0 end), 0) as bigint) as late,
        cast(coalesce(sum(case when v.status = 'missed' then 1 else 0 end), 0) as bigint) as missed"
    };
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GridTally {
    pub grid_id: Option<Uuid>,
    pub grid_name: Option<String>,
    pub due: i64,
    pub on_time: i64,
    pub late: i64,
    pub missed: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssigneeTally {
    pub user_id: Uuid,
    pub name: String,
    pub due: i64,
    pub on_time: i64,
    pub late: i64,
    pub missed: i64,
    pub done_by_them: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MissedResident {
    pub resident_id: Uuid,
    pub name: String,
    pub grid_id: Option<Uuid>,
    pub missed: i64,
    pub last_window_end: DateTime<Utc>,
}

const BY_GRID: &str = concat!(
    "select v.grid_id, g.name as grid_name, ",
    tallies!(),
    " from visits v left join grids g on g.id = v.grid_id where ",
    due_in_period!(),
    " group by v.grid_id, g.name order by g.name, v.grid_id"
);

/// Every visit with each of its assignees: the plan's care team, or the grid's workers for a
/// visit outside any plan.
macro_rules! assigned {
    ($filter:expr) => {
        concat!(
            "(select v.id, v.status, v.completed_at, v.completed_by, v.window_end, m.user_id
               from visits v join care_team_members m on m.plan_id = v.plan_id where ",
            $filter,
            " union all
             select v.id, v.status, v.completed_at, v.completed_by, v.window_end, w.user_id
               from visits v join ",
            grid_service!(),
            " w on w.grid_id = v.grid_id
              where v.plan_id is null and ",
            $filter,
            ")"
        )
    };
}

const BY_ASSIGNEE: &str = concat!(
    "select v.user_id, u.display_name as name, ",
    tallies!(),
    ", cast(coalesce(sum(case when v.completed_by = v.user_id then 1 else 0 end), 0) as bigint) as done_by_them
    from ",
    assigned!(due_in_period!()),
    " v join users u on u.id = v.user_id
    group by v.user_id, u.display_name order by count(*) desc, v.user_id limit 1000"
);

const UPCOMING: &str = concat!(
    "select v.user_id, count(*) from ",
    assigned!(concat!(
        "v.community_id = $1 and v.status in ('scheduled', 'in_progress') and v.window_end > $2
             and v.window_start < $3 and ($4 is null or ",
        grid_served_by!("v.grid_id", "$4"),
        ")"
    )),
    " v group by v.user_id"
);

macro_rules! passed_without_visit {
    () => {
        concat!(
            due_in_period!(),
            " and (v.status = 'missed' or (v.status = 'completed' and v.completed_at > v.window_end))"
        )
    };
}

const MISSED_RESIDENTS: &str = concat!(
    "select v.resident_id, x.name, x.grid_id, count(*) as missed, max(v.window_end) as last_window_end
    from visits v join residents x on x.id = v.resident_id where ",
    passed_without_visit!(),
    " group by v.resident_id, x.name, x.grid_id order by count(*) desc, v.resident_id limit $6"
);
const MISSED_RESIDENT_COUNT: &str = concat!(
    "select count(distinct v.resident_id) from visits v where ",
    passed_without_visit!()
);

/// The period and whose grids: `grid_worker` limits the report to that worker's grids.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub community_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub grid_worker: Option<Uuid>,
}

pub async fn by_grid(db: &Db, p: &Period) -> StoreResult<Vec<GridTally>> {
    Ok(
        on_db!(db, pool => sqlx::query_as(BY_GRID).persistent(false).bind(p.community_id).bind(p.from).bind(p.to)
        .bind(p.now).bind(p.grid_worker).fetch_all(pool).await)?,
    )
}

pub async fn by_assignee(db: &Db, p: &Period) -> StoreResult<Vec<AssigneeTally>> {
    Ok(
        on_db!(db, pool => sqlx::query_as(BY_ASSIGNEE).persistent(false).bind(p.community_id).bind(p.from).bind(p.to)
        .bind(p.now).bind(p.grid_worker).fetch_all(pool).await)?,
    )
}

/// Each assignee's open visits whose window is open now or opens before `until`.
pub async fn upcoming(db: &Db, p: &Period, until: DateTime<Utc>) -> StoreResult<Vec<(Uuid, i64)>> {
    Ok(
        on_db!(db, pool => sqlx::query_as(UPCOMING).persistent(false).bind(p.community_id).bind(p.now).bind(until)
        .bind(p.grid_worker).fetch_all(pool).await)?,
    )
}

pub async fn missed_residents(
    db: &Db,
    p: &Period,
    limit: i64,
) -> StoreResult<(Vec<MissedResident>, i64)> {
    let rows = on_db!(db, pool => sqlx::query_as(MISSED_RESIDENTS).persistent(false).bind(p.community_id).bind(p.from)
        .bind(p.to).bind(p.now).bind(p.grid_worker).bind(limit).fetch_all(pool).await)?;
    let total = on_db!(db, pool => sqlx::query_scalar(MISSED_RESIDENT_COUNT).persistent(false).bind(p.community_id)
        .bind(p.from).bind(p.to).bind(p.now).bind(p.grid_worker).fetch_one(pool).await)?;
    Ok((rows, total))
}
