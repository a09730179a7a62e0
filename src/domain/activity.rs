//! Activities (一小: classes, childcare 托管, events): their vocabulary, a small lifecycle, the
//! sessions a weekly rule gives in the community's time zone, and the age rule of enrolment.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};

use super::string_enum;

string_enum!(Kind {
    Class => "class",
    Childcare => "childcare",
    Event => "event",
});

string_enum!(Status {
    Draft => "draft",
    Published => "published",
    Completed => "completed",
    Cancelled => "cancelled",
});

string_enum!(Action {
    Publish => "publish",
    Complete => "complete",
    Cancel => "cancel",
});

string_enum!(SessionStatus {
    Scheduled => "scheduled",
    Held => "held",
});

/// Where `action` leads from `from`, or the stable code of the refusal.
pub fn next(from: Status, action: Action) -> Result<Status, &'static str> {
    match (from, action) {
        (Status::Draft, Action::Publish) => Ok(Status::Published),
        (Status::Published, Action::Complete) => Ok(Status::Completed),
        (Status::Draft | Status::Published, Action::Cancel) => Ok(Status::Cancelled),
        _ => Err("invalid_transition"),
    }
}

/// More sessions than this in one activity is a typo in the rule (a summer of weekdays is ~50).
pub const MAX_SESSIONS: usize = 200;
pub const MAX_CAPACITY: i64 = 10_000;
pub const MAX_AGE: i64 = 120;
/// A session longer than this is not one session.
pub const MAX_SESSION_HOURS: i64 = 24;
/// How long after a session's end a child not signed out raises an alert.
pub const PICKUP_GRACE_MINUTES: i64 = 30;

pub fn capacity(n: Option<i64>) -> Result<i64, &'static str> {
    match n {
        None => Err("required"),
        Some(n) if (1..=MAX_CAPACITY).contains(&n) => Ok(n),
        Some(_) => Err("out_of_range"),
    }
}

/// An age bound in whole years.
pub fn age_bound(n: Option<i64>) -> Result<Option<i64>, &'static str> {
    match n {
        Some(n) if !(0..=MAX_AGE).contains(&n) => Err("out_of_range"),
        n => Ok(n),
    }
}

/// One session: the end after the start, not longer than a day.
pub fn session(starts: DateTime<Utc>, ends: DateTime<Utc>) -> Result<(), &'static str> {
    if ends <= starts {
        Err("end_before_start")
    } else if ends - starts > chrono::Duration::hours(MAX_SESSION_HOURS) {
        Err("too_long")
    } else {
        Ok(())
    }
}

/// A session's start and end.
pub type Window = (DateTime<Utc>, DateTime<Utc>);

/// A weekly rule: on `weekdays` (1 = Monday … 7 = Sunday) from `start` to `end` local time,
/// every week from `from` to `to` inclusive.
#[derive(Debug, Clone)]
pub struct WeeklyRule {
    pub weekdays: Vec<u32>,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The sessions of a weekly rule in `tz`, in UTC, at most [`MAX_SESSIONS`]. A local time that
/// does not exist (a DST gap) skips that day; an ambiguous one takes the earlier instant.
pub fn expand(rule: &WeeklyRule, tz: chrono_tz::Tz) -> Result<Vec<Window>, &'static str> {
    if rule.weekdays.is_empty() || rule.weekdays.iter().any(|d| !(1..=7).contains(d)) {
        return Err("invalid_weekday");
    }
    if rule.end <= rule.start {
        return Err("end_before_start");
    }
    if rule.to < rule.from {
        return Err("end_before_start");
    }
    if (rule.to - rule.from).num_days() > 366 * 2 {
        return Err("too_many");
    }
    let mut out = Vec::new();
    let mut day = rule.from;
    while day <= rule.to {
        if rule.weekdays.contains(&day.weekday().number_from_monday()) {
            let s = tz.from_local_datetime(&day.and_time(rule.start)).earliest();
            let e = tz.from_local_datetime(&day.and_time(rule.end)).earliest();
            if let (Some(s), Some(e)) = (s, e) {
                out.push((s.with_timezone(&Utc), e.with_timezone(&Utc)));
                if out.len() > MAX_SESSIONS {
                    return Err("too_many");
                }
            }
        }
        day = day.succ_opt().ok_or("out_of_range")?;
    }
    if out.is_empty() {
        return Err("no_sessions");
    }
    Ok(out)
}

/// Whole years of age on `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i64 {
    let mut years = i64::from(on.year() - birth.year());
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

/// Whether a child born on `birth` fits the range on `on` (the first session's day).
pub fn fits_age(
    birth: Option<NaiveDate>,
    on: NaiveDate,
    min: Option<i64>,
    max: Option<i64>,
) -> Result<(), &'static str> {
    if min.is_none() && max.is_none() {
        return Ok(());
    }
    let Some(birth) = birth else {
        return Err("birth_date_unknown");
    };
    let age = age_on(birth, on);
    if min.is_some_and(|m| age < m) || max.is_some_and(|m| age > m) {
        return Err("age_out_of_range");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_lifecycle_is_small() {
        assert_eq!(next(Status::Draft, Action::Publish), Ok(Status::Published));
        assert_eq!(
            next(Status::Published, Action::Complete),
            Ok(Status::Completed)
        );
        assert_eq!(
            next(Status::Draft, Action::Complete),
            Err("invalid_transition")
        );
        assert_eq!(
            next(Status::Cancelled, Action::Cancel),
            Err("invalid_transition")
        );
    }

    #[test]
    fn a_weekly_rule_expands_in_the_community_zone() {
        let rule = WeeklyRule {
            weekdays: vec![1, 3, 5],
            start: "09:00".parse().unwrap(),
            end: "11:30".parse().unwrap(),
            from: d("2026-07-06"),
            to: d("2026-07-19"),
        };
        let s = expand(&rule, chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(s.len(), 6);
        assert_eq!(s[0].0.to_rfc3339(), "2026-07-06T01:00:00+00:00");
        assert_eq!(s[0].1.to_rfc3339(), "2026-07-06T03:30:00+00:00");
        let long = WeeklyRule {
            weekdays: vec![1, 2, 3, 4, 5, 6, 7],
            to: d("2027-06-30"),
            ..rule.clone()
        };
        assert_eq!(expand(&long, chrono_tz::Asia::Shanghai), Err("too_many"));
        let bad = WeeklyRule {
            weekdays: vec![8],
            ..rule.clone()
        };
        assert_eq!(
            expand(&bad, chrono_tz::Asia::Shanghai),
            Err("invalid_weekday")
        );
    }

    #[test]
    fn ages_are_whole_years_on_the_first_day() {
        assert_eq!(age_on(d("2018-07-07"), d("2026-07-06")), 7);
        assert_eq!(age_on(d("2018-07-06"), d("2026-07-06")), 8);
        let on = d("2026-07-06");
        assert_eq!(
            fits_age(Some(d("2018-07-06")), on, Some(6), Some(12)),
            Ok(())
        );
        assert_eq!(
            fits_age(Some(d("2022-01-01")), on, Some(6), Some(12)),
            Err("age_out_of_range")
        );
        assert_eq!(fits_age(None, on, Some(6), None), Err("birth_date_unknown"));
        assert_eq!(fits_age(None, on, None, None), Ok(()));
    }
}
