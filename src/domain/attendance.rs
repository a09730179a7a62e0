//! Attendance at a mobilisation: when a check-in is open, how far from the place it may be,
//! the rotating six-digit code staff show, the daily limit of pairs, and the hours a pair
//! earns (clipped to the planned window).

use chrono::{DateTime, Duration, Utc};

use super::geo::Coordinates;
use super::mobilisation::AttendanceMode;
use super::score::distance_m;
use super::string_enum;

string_enum!(Method {
    Location => "location",
    Code => "code",
    Manual => "manual",
    Auto => "auto",
});

string_enum!(AttendanceStatus {
    Open => "open",
    Closed => "closed",
});

/// A check-in opens this long before the planned start.
pub const OPENS_BEFORE: Duration = Duration::hours(1);
/// Check-in/out pairs one person may make in a day (the community's day).
pub const MAX_PAIRS_PER_DAY: i64 = 3;
/// A check-in without a check-out for this long is closed by the sweeper.
pub const AUTO_CLOSE_AFTER: Duration = Duration::hours(24);
/// How long one check-in code is shown; the previous one is still accepted.
pub const CODE_SECONDS: i64 = 60;

/// Whether a volunteer may check in now: attendance is recorded in this mode, and `now` is
/// between an hour before the start and the planned end.
pub fn may_check_in(
    mode: AttendanceMode,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), &'static str> {
    if mode == AttendanceMode::None {
        return Err("attendance_not_required");
    }
    if now < starts_at - OPENS_BEFORE || now > ends_at {
        return Err("check_in_not_open");
    }
    Ok(())
}

/// A fourth pair in a day is refused.
pub fn pairs_left(made_today: i64) -> Result<(), &'static str> {
    if made_today >= MAX_PAIRS_PER_DAY {
        Err("too_many_pairs")
    } else {
        Ok(())
    }
}

/// Within `radius_m` of the place; a mobilisation without a location cannot be checked into by
/// location (`no_location`).
pub fn near(
    place: Option<Coordinates>,
    radius_m: i64,
    at: Coordinates,
) -> Result<(), &'static str> {
    let place = place.ok_or("no_location")?;
    if distance_m(place.lat, place.lng, at.lat, at.lng) <= radius_m as f64 {
        Ok(())
    } else {
        Err("too_far")
    }
}

/// The code window `now` falls in (minutes since the epoch).
pub fn code_window(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(CODE_SECONDS)
}

/// When window `w` starts.
pub fn window_start(w: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(w * CODE_SECONDS, 0).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Six digits from a keyed hash (hex) of the mobilisation and the window.
pub fn code_from_hash(hex: &str) -> String {
    let n = u64::from_str_radix(hex.get(..12).unwrap_or("0"), 16).unwrap_or(0);
    format!("{:06}", n % 1_000_000)
}

/// A given code is well-formed: exactly six ASCII digits.
pub fn code_shape(code: &str) -> Result<(), &'static str> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("invalid_format")
    }
}

/// The part of `[checked_in, checked_out]` inside the planned window; an empty span ends where
/// it starts.
pub fn credited(
    checked_in: DateTime<Utc>,
    checked_out: DateTime<Utc>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = checked_in.max(starts_at);
    let to = checked_out.min(ends_at).max(from);
    (from, to)
}

/// The day (`YYYY-MM-DD`) of `at` in the community's time zone.
pub fn local_day(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, h, m, 0).unwrap()
    }

    #[test]
    fn check_in_opens_an_hour_before_the_start_and_closes_at_the_end() {
        let mode = AttendanceMode::CheckInOut;
        assert_eq!(
            may_check_in(mode, t(9, 0), t(12, 0), t(7, 59)),
            Err("check_in_not_open")
        );
        assert_eq!(may_check_in(mode, t(9, 0), t(12, 0), t(8, 0)), Ok(()));
        assert_eq!(may_check_in(mode, t(9, 0), t(12, 0), t(12, 0)), Ok(()));
        assert_eq!(
            may_check_in(mode, t(9, 0), t(12, 0), t(12, 1)),
            Err("check_in_not_open")
        );
        assert_eq!(
            may_check_in(AttendanceMode::None, t(9, 0), t(12, 0), t(9, 0)),
            Err("attendance_not_required")
        );
    }

    #[test]
    fn three_pairs_a_day_and_no_more() {
        assert_eq!(pairs_left(2), Ok(()));
        assert_eq!(pairs_left(3), Err("too_many_pairs"));
    }

    #[test]
    fn hours_are_clipped_to_the_planned_window() {
        assert_eq!(
            credited(t(8, 30), t(12, 30), t(9, 0), t(12, 0)),
            (t(9, 0), t(12, 0))
        );
        assert_eq!(
            credited(t(9, 30), t(11, 0), t(9, 0), t(12, 0)),
            (t(9, 30), t(11, 0))
        );
        assert_eq!(
            credited(t(7, 0), t(8, 0), t(9, 0), t(12, 0)),
            (t(9, 0), t(9, 0))
        );
    }

    #[test]
    fn distance_decides_a_check_in_by_location() {
        let place = Some(Coordinates {
            lat: 39.9,
            lng: 116.4,
        });
        let close = Coordinates {
            lat: 39.9005,
            lng: 116.4,
        };
        let far = Coordinates {
            lat: 39.91,
            lng: 116.4,
        };
        assert_eq!(near(place, 200, close), Ok(()));
        assert_eq!(near(place, 200, far), Err("too_far"));
        assert_eq!(near(None, 200, close), Err("no_location"));
    }

    #[test]
    fn codes_are_six_digits_in_minute_windows() {
        assert_eq!(code_from_hash("ffffffffffff00"), "710655");
        assert_eq!(code_from_hash("000000000001"), "000001");
        assert_eq!(code_shape("012345"), Ok(()));
        assert_eq!(code_shape("12345"), Err("invalid_format"));
        assert_eq!(code_shape("12345a"), Err("invalid_format"));
        let w = code_window(t(9, 0));
        assert_eq!(code_window(t(9, 0) + Duration::seconds(59)), w);
        assert_eq!(code_window(t(9, 1)), w + 1);
        assert_eq!(window_start(w), t(9, 0));
    }

    #[test]
    fn the_day_is_the_communitys() {
        let late = Utc.with_ymd_and_hms(2026, 12, 5, 17, 0, 0).unwrap();
        assert_eq!(local_day(late, chrono_tz::Asia::Shanghai), "2026-12-06");
        assert_eq!(local_day(late, chrono_tz::UTC), "2026-12-05");
    }
}
