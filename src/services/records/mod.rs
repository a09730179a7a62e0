//! Volunteer records (志愿服务记录, 民政部令第67号: identity, service content, hours, who recorded
//! them, evaluation) and the certificates issued from them, verified by anyone by number.
//! Reads the service-hours ledger whatever capability wrote it; uses `registry` for the
//! volunteer and the community.

pub mod certificates;
pub mod community_hours;
pub mod hours;
pub mod points;
pub mod record;

use chrono::{DateTime, NaiveDate, Utc};

use crate::auth::Principal;
use crate::domain::role::Role;
use crate::domain::time_zone::TimeZone;
use crate::services::{ServiceError, ServiceResult};
use crate::store::registry::volunteers::VolunteerRow;

/// The volunteer themself, or staff of their community; anyone else is told nothing exists.
fn may_read(p: &Principal, v: &VolunteerRow) -> ServiceResult<()> {
    let own = v.user_id == p.user_id && p.has(Role::Volunteer, v.community_id);
    if own || p.is_staff(v.community_id) {
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

/// Midnight starting `day` in the community's time zone, in UTC.
fn day_start(tz: chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .and_then(|d| d.and_local_timezone(tz).earliest())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn zone(name: &str) -> chrono_tz::Tz {
    TimeZone::parse(name).unwrap_or_default().tz()
}

/// Minutes as hours, to two decimals.
fn hours(minutes: i64) -> f64 {
    (minutes as f64 / 60.0 * 100.0).round() / 100.0
}
