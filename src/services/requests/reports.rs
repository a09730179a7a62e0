//! Reports: the three rates (三率) by community, grid, service type, team or period, and a
//! volunteer's service hours.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::help_request::Status;
use crate::domain::rates::{Outcome, Rates, rates};
use crate::domain::role::Role;
use crate::domain::time_zone::TimeZone;
use crate::services::registry::communities::visible;
use crate::services::{PageRequest, ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store;

/// The most requests one report reads; a longer period is refused rather than truncated.
const MAX_ROWS: i64 = 200_000;

#[derive(Debug, Deserialize)]
pub struct RatesQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// `community` (default), `grid`, `service_type`, `team`, `day`, `week` or `month`.
    pub group_by: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RatesGroup {
    /// The grid, service type or team id, the period's first day, or `all`.
    pub key: String,
    /// The grid's, service type's or team's name, for people to read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub rates: Rates,
}

/// The names of the grids, service types or teams a report groups by (inactive ones too: old
/// requests name them), by id.
async fn group_names(
    ctx: &AppState,
    community_id: Uuid,
    group_by: &str,
) -> ServiceResult<std::collections::HashMap<String, String>> {
    const ALL: i64 = 100_000;
    let db = &ctx.db;
    use crate::store::registry::{grids, service_types, teams};
    Ok(match group_by {
        "grid" => grids::list(db, community_id, None, true, ALL)
            .await?
            .into_iter()
            .map(|g| (g.row.id.to_string(), g.row.name))
            .collect(),
        "service_type" => service_types::list(db, community_id, None, true, ALL)
            .await?
            .into_iter()
            .map(|s| (s.id.to_string(), s.name))
            .collect(),
        "team" => teams::list(db, community_id, None, true, ALL)
            .await?
            .into_iter()
            .map(|t| (t.row.id.to_string(), t.row.name))
            .collect(),
        _ => Default::default(),
    })
}

#[derive(Debug, Serialize)]
pub struct RatesReport {
    pub community_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: String,
    pub groups: Vec<RatesGroup>,
}

pub async fn three_rates(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    q: RatesQuery,
) -> ServiceResult<RatesReport> {
    let community = visible(ctx, p, community_id).await?;
    if !(p.is_staff(community_id)
        || p.has(Role::GridWorker, community_id)
        || p.client_may(crate::domain::scope::Scope::ReportsRead, community_id))
    {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    for (field, t) in [("from", q.from), ("to", q.to)] {
        if t.is_some_and(|t| !crate::services::sane_time(t)) {
            return Err(field_error(field, "out_of_range"));
        }
    }
    let now = store::now();
    let to = q.to.unwrap_or(now);
    let from = q.from.unwrap_or_else(|| to - Duration::days(30));
    if to <= from {
        return Err(field_error("to", "before_start"));
    }
    if to - from > Duration::days(3 * 366) {
        return Err(field_error("to", "too_long"));
    }
    let group_by = q.group_by.unwrap_or_else(|| "community".into());
    if ![
        "community",
        "grid",
        "service_type",
        "team",
        "day",
        "week",
        "month",
    ]
    .contains(&group_by.as_str())
    {
        return Err(field_error("group_by", "unknown_value"));
    }
    let policy = crate::services::registry::communities::policy_of(&community);
    let tz = TimeZone::parse(&community.time_zone)
        .unwrap_or_default()
        .tz();
    let rows =
        store::requests::hours::rate_rows(&ctx.db, community_id, from, to, MAX_ROWS + 1).await?;
    if rows.len() as i64 > MAX_ROWS {
        return Err(field_error("from", "period_too_large"));
    }
    let teams: Vec<(Uuid, Uuid)> = if group_by == "team" {
        store::requests::hours::team_memberships(&ctx.db, community_id).await?
    } else {
        Vec::new()
    };
    let mut groups: BTreeMap<String, Vec<Outcome>> = BTreeMap::new();
    for r in rows {
        let status = r.status;
        let discarded = status == Status::Closed
            && matches!(r.close_reason.as_deref(), Some("duplicate" | "not_ours"));
        let outcome = Outcome {
            created_at: r.created_at,
            respond_by: r.respond_by,
            responded_at: r.responded_at,
            completed_at: r.completed_at,
            resolved: status.is_resolved() && r.completed_at.is_some(),
            cancelled: status == Status::Cancelled,
            pending_response: r.responded_at.is_none() && r.respond_by > now,
            discarded,
            rating: r.rating,
        };
        let local = r.created_at.with_timezone(&tz).date_naive();
        let keys: Vec<String> = match group_by.as_str() {
            "grid" => vec![r.grid_id.map_or("none".into(), |g| g.to_string())],
            "service_type" => vec![r.service_type_id.to_string()],
            "team" => {
                let ts: Vec<String> = teams
                    .iter()
                    .filter(|(v, _)| Some(*v) == r.assignee_id)
                    .map(|(_, t)| t.to_string())
                    .collect();
                if ts.is_empty() {
                    vec!["none".into()]
                } else {
                    ts
                }
            }
            "day" => vec![local.to_string()],
            "week" => vec![
                (local - Duration::days(i64::from(local.weekday().num_days_from_monday())))
                    .to_string(),
            ],
            "month" => vec![format!("{:04}-{:02}-01", local.year(), local.month())],
            _ => vec!["all".into()],
        };
        for k in keys {
            groups.entry(k).or_default().push(outcome.clone());
        }
    }
    let satisfied_from = i64::from(policy.rating.satisfied_from);
    let mut names = group_names(ctx, community_id, &group_by).await?;
    let mut out: Vec<RatesGroup> = groups
        .into_iter()
        .map(|(key, v)| RatesGroup {
            name: names.remove(&key),
            key,
            rates: rates(&v, satisfied_from),
        })
        .collect();
    if out.is_empty() && group_by == "community" {
        out.push(RatesGroup {
            key: "all".into(),
            name: None,
            rates: rates(&[], satisfied_from),
        });
    }
    Ok(RatesReport {
        community_id,
        from,
        to,
        group_by,
        groups: out,
    })
}

#[derive(Debug, Serialize)]
pub struct HoursEntryView {
    pub id: Uuid,
    pub source_type: String,
    pub source_id: Uuid,
    pub minutes: i64,
    pub hours: f64,
    pub verified_by: Option<Uuid>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct HoursView {
    pub volunteer_id: Uuid,
    pub total_minutes: i64,
    pub total_hours: f64,
    pub this_month_minutes: i64,
    pub entries: Vec<HoursEntryView>,
    /// Filled in by the handler from `next_after`.
    pub next_cursor: Option<String>,
    #[serde(skip)]
    pub next_after: Option<Uuid>,
}

/// A volunteer's service hours (志愿服务时长): totals derived from the ledger, and its entries.
pub async fn hours(
    ctx: &AppState,
    p: &Principal,
    volunteer_id: Uuid,
    page: PageRequest,
) -> ServiceResult<HoursView> {
    let v = store::registry::volunteers::get(&ctx.db, volunteer_id).await?;
    let own = v.user_id == p.user_id && p.has(Role::Volunteer, v.community_id);
    if !own && !p.is_staff(v.community_id) {
        return Err(ServiceError::NotFound);
    }
    let community = store::registry::communities::get(&ctx.db, v.community_id).await?;
    let tz = TimeZone::parse(&community.time_zone)
        .unwrap_or_default()
        .tz();
    let now = store::now().with_timezone(&tz);
    let month_start = now
        .date_naive()
        .with_day(1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|d| d.and_local_timezone(tz).earliest())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let total =
        store::requests::hours::total_since(&ctx.db, v.id, DateTime::<Utc>::UNIX_EPOCH).await?;
    let month = store::requests::hours::total_since(&ctx.db, v.id, month_start).await?;
    let rows =
        store::requests::hours::entries(&ctx.db, v.id, page.after, page.fetch_limit()).await?;
    let paged = page.page(
        rows,
        |e| e.id,
        |e| HoursEntryView {
            id: e.id,
            source_type: e.source_type,
            source_id: e.source_id,
            minutes: e.minutes,
            hours: e.minutes as f64 / 60.0,
            verified_by: e.verified_by,
            note: e.note,
            at: e.at,
        },
    );
    Ok(HoursView {
        volunteer_id: v.id,
        total_minutes: total,
        total_hours: total as f64 / 60.0,
        this_month_minutes: month,
        entries: paged.items,
        next_cursor: None,
        next_after: paged.next_after,
    })
}
