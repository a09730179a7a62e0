//! The community's hours report (志愿服务时长统计): each volunteer's hours credited in a period
//! of whole days in the community's time zone, most first, with the total. For staff and
//! integration clients with `reports:read`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{day_start, hours, zone};
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::scope::Scope;
use crate::services::registry::communities::visible;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;

/// At most a little over three years, as for the three rates.
const MAX_DAYS: i64 = 3 * 366;

#[derive(Debug, Deserialize)]
pub struct HoursQuery {
    /// First day, `YYYY-MM-DD` in the community's time zone; the first of this month by default.
    pub from: Option<String>,
    /// Last day, included; today by default.
    pub to: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct VolunteerHoursRow {
    pub volunteer_id: Uuid,
    pub name: String,
    pub minutes: i64,
    pub hours: f64,
    /// Ledger entries counted.
    pub entries: i64,
}

#[derive(Debug, Serialize)]
pub struct CommunityHoursReport {
    pub community_id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total_minutes: i64,
    pub total_hours: f64,
    pub volunteers: Vec<VolunteerHoursRow>,
}

fn day(field: &str, s: Option<&str>, errors: &mut Fields) -> Option<NaiveDate> {
    let s = s?;
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) if (2000..2100).contains(&d.year()) => Some(d),
        _ => {
            errors.push(field, "invalid_date");
            None
        }
    }
}

pub async fn report(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    q: HoursQuery,
) -> ServiceResult<CommunityHoursReport> {
    let community = visible(ctx, p, community_id).await?;
    if !(p.is_staff(community_id) || p.client_may(Scope::ReportsRead, community_id)) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let tz = zone(&community.time_zone);
    let today = store::now().with_timezone(&tz).date_naive();
    let mut errors = Fields::new();
    let from = day("from", q.from.as_deref(), &mut errors);
    let to = day("to", q.to.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors.into_errors()));
    }
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| to.with_day(1).unwrap_or(to));
    if to < from {
        return Err(crate::services::field_error("to", "before_start"));
    }
    if to - from > Duration::days(MAX_DAYS) {
        return Err(crate::services::field_error("to", "too_long"));
    }
    let (start, end): (DateTime<Utc>, DateTime<Utc>) =
        (day_start(tz, from), day_start(tz, to + Duration::days(1)));
    let rows = store::records::ledger::by_volunteer(&ctx.db, community_id, start, end).await?;
    let total: i64 = rows.iter().map(|r| r.minutes).sum();
    Ok(CommunityHoursReport {
        community_id,
        from,
        to,
        total_minutes: total,
        total_hours: hours(total),
        volunteers: rows
            .into_iter()
            .map(|r| VolunteerHoursRow {
                volunteer_id: r.volunteer_id,
                name: r.name,
                minutes: r.minutes,
                hours: hours(r.minutes),
                entries: r.entries,
            })
            .collect(),
    })
}
