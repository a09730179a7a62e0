//! Coverage (月探访率): visits done on time over visits due, by community and grid, each
//! assignee's load, and the residents whose window passed without a visit.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::role::Role;
use crate::domain::visit::{day_start, local_day};
use crate::services::registry::communities::visible;
use crate::services::visits::grading::policy_and_zone;
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store;
use crate::store::visits::coverage::{GridTally, Period};

const MAX_MONTHS: i32 = 12;
const MISSED_LIST: i64 = 100;

#[derive(Debug, Deserialize)]
pub struct CoverageQuery {
    /// `YYYY-MM`; the current month by default.
    pub month: Option<String>,
    /// A range of months instead (`from`..=`to`, at most twelve).
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Tally {
    pub due: i64,
    pub on_time: i64,
    pub late: i64,
    pub missed: i64,
    /// Due but neither done nor yet marked missed.
    pub open: i64,
    /// 月探访率: on time / due; null when nothing was due.
    pub rate: Option<f64>,
}

impl Tally {
    fn new(due: i64, on_time: i64, late: i64, missed: i64) -> Self {
        Self {
            due,
            on_time,
            late,
            missed,
            open: (due - on_time - late - missed).max(0),
            rate: (due > 0).then(|| on_time as f64 / due as f64),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct GridCoverage {
    pub grid_id: Option<Uuid>,
    pub grid_name: Option<String>,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Debug, Serialize)]
pub struct AssigneeLoad {
    pub user_id: Uuid,
    pub name: String,
    #[serde(flatten)]
    pub tally: Tally,
    /// Visits they completed themselves.
    pub done_by_them: i64,
    /// Open visits whose window is open now or opens within seven days.
    pub upcoming: i64,
}

#[derive(Debug, Serialize)]
pub struct MissedResidentView {
    pub resident_id: Uuid,
    pub name: String,
    pub grid_id: Option<Uuid>,
    pub missed: i64,
    pub last_window_end: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct CoverageReport {
    pub community_id: Uuid,
    pub from_month: String,
    pub to_month: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub as_of: DateTime<Utc>,
    pub community: Tally,
    pub grids: Vec<GridCoverage>,
    pub assignees: Vec<AssigneeLoad>,
    /// The residents whose window passed without a visit (missed, or visited late), most
    /// often first; at most 100, `missed_residents_total` says how many there are.
    pub missed_residents: Vec<MissedResidentView>,
    pub missed_residents_total: i64,
}

fn month(field: &str, s: &str) -> ServiceResult<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..2100).contains(&d.year()) && s.len() == 7)
        .ok_or_else(|| field_error(field, "invalid_month"))
}

fn next_month(d: NaiveDate) -> NaiveDate {
    if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    }
    .expect("first of a month exists")
}

pub async fn report(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    q: CoverageQuery,
) -> ServiceResult<CoverageReport> {
    visible(ctx, p, community_id).await?;
    let grid_worker = if p.is_staff(community_id)
        || p.client_may(crate::domain::scope::Scope::ReportsRead, community_id)
    {
        None
    } else if p.has(Role::GridWorker, community_id) {
        Some(p.user_id)
    } else {
        return Err(ServiceError::Forbidden("forbidden"));
    };
    let (_, tz) = policy_and_zone(ctx, community_id).await?;
    let now = store::now();
    let this_month = {
        let d = local_day(now, tz);
        NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("first of a month exists")
    };
    let (first, last) = match (&q.month, &q.from, &q.to) {
        (Some(m), None, None) => {
            let m = month("month", m)?;
            (m, m)
        }
        (None, Some(f), Some(t)) => (month("from", f)?, month("to", t)?),
        (None, None, None) => (this_month, this_month),
        (Some(_), _, _) => return Err(field_error("month", "not_with_range")),
        (None, None, Some(_)) => return Err(field_error("from", "required")),
        (None, Some(_), None) => return Err(field_error("to", "required")),
    };
    let months = (last.year() - first.year()) * 12 + last.month() as i32 - first.month() as i32 + 1;
    if months < 1 {
        return Err(field_error("to", "before_start"));
    }
    if months > MAX_MONTHS {
        return Err(field_error("to", "too_long"));
    }
    let period = Period {
        community_id,
        from: day_start(first, tz),
        to: day_start(next_month(last), tz),
        now,
        grid_worker,
    };
    let grids = store::visits::coverage::by_grid(&ctx.db, &period).await?;
    let total = grids.iter().fold((0, 0, 0, 0), |a, g| {
        (a.0 + g.due, a.1 + g.on_time, a.2 + g.late, a.3 + g.missed)
    });
    let upcoming =
        store::visits::coverage::upcoming(&ctx.db, &period, now + Duration::days(7)).await?;
    let assignees = store::visits::coverage::by_assignee(&ctx.db, &period)
        .await?
        .into_iter()
        .map(|a| AssigneeLoad {
            upcoming: upcoming
                .iter()
                .find(|(u, _)| *u == a.user_id)
                .map_or(0, |(_, n)| *n),
            user_id: a.user_id,
            name: a.name,
            tally: Tally::new(a.due, a.on_time, a.late, a.missed),
            done_by_them: a.done_by_them,
        })
        .collect();
    let (missed, missed_total) =
        store::visits::coverage::missed_residents(&ctx.db, &period, MISSED_LIST).await?;
    Ok(CoverageReport {
        community_id,
        from_month: first.format("%Y-%m").to_string(),
        to_month: last.format("%Y-%m").to_string(),
        from: period.from,
        to: period.to,
        as_of: now,
        community: Tally::new(total.0, total.1, total.2, total.3),
        grids: grids
            .into_iter()
            .map(|g: GridTally| GridCoverage {
                grid_id: g.grid_id,
                grid_name: g.grid_name,
                tally: Tally::new(g.due, g.on_time, g.late, g.missed),
            })
            .collect(),
        assignees,
        missed_residents: missed
            .into_iter()
            .map(|m| MissedResidentView {
                resident_id: m.resident_id,
                name: m.name,
                grid_id: m.grid_id,
                missed: m.missed,
                last_window_end: m.last_window_end,
            })
            .collect(),
        missed_residents_total: missed_total,
    })
}
