//! Mobilisations (一呼百应): their vocabulary, the lifecycle as one table, and the validated
//! plan a station writes (slots with a count, an end after the start, a check-in radius).

use chrono::{DateTime, Utc};

use super::string_enum;

string_enum!(Kind {
    Emergency => "emergency",
    Event => "event",
    Routine => "routine",
});

string_enum!(AttendanceMode {
    None => "none",
    CheckIn => "check_in",
    CheckInOut => "check_in_out",
});

string_enum!(Status {
    Draft => "draft",
    Published => "published",
    Closed => "closed",
    Completed => "completed",
    Cancelled => "cancelled",
});

string_enum!(Action {
    Publish => "publish",
    Close => "close",
    Complete => "complete",
    Cancel => "cancel",
});

use Action as A;
use Status as S;

/// The lifecycle: from which states each action may be taken, and where it leads.
const TRANSITIONS: &[(Action, &[Status], Status)] = &[
    (A::Publish, &[S::Draft], S::Published),
    (A::Close, &[S::Published], S::Closed),
    (A::Complete, &[S::Published, S::Closed], S::Completed),
    (
        A::Cancel,
        &[S::Draft, S::Published, S::Closed],
        S::Cancelled,
    ),
];

/// Where `action` leads from `from`, or the stable code of the refusal.
pub fn next(from: Status, action: Action) -> Result<Status, &'static str> {
    TRANSITIONS
        .iter()
        .find(|(a, froms, _)| *a == action && froms.contains(&from))
        .map(|(_, _, to)| *to)
        .ok_or("invalid_transition")
}

impl Action {
    /// The timeline event (and outbox topic suffix) of the move.
    pub fn event(self) -> &'static str {
        match self {
            A::Publish => "published",
            A::Close => "closed",
            A::Complete => "completed",
            A::Cancel => "cancelled",
        }
    }
}

impl Status {
    /// Volunteers (not staff) may see it: it was published once.
    pub fn is_public(self) -> bool {
        !matches!(self, S::Draft)
    }
}

/// The check-in radius when none is given, and the bounds of one.
pub const DEFAULT_RADIUS_M: i64 = 200;
pub const MAX_RADIUS_M: i64 = 5_000;
/// More slots or places than this in one mobilisation is a typo.
pub const MAX_SLOTS: usize = 50;
pub const MAX_SLOT_COUNT: i64 = 10_000;

/// A radius in metres, 1..=5 km.
pub fn radius(m: Option<i64>) -> Result<i64, &'static str> {
    match m {
        None => Ok(DEFAULT_RADIUS_M),
        Some(m) if (1..=MAX_RADIUS_M).contains(&m) => Ok(m),
        Some(_) => Err("out_of_range"),
    }
}

/// The number of places of a slot: required, positive, bounded.
pub fn slot_count(n: Option<i64>) -> Result<i64, &'static str> {
    match n {
        None => Err("required"),
        Some(n) if (1..=MAX_SLOT_COUNT).contains(&n) => Ok(n),
        Some(_) => Err("out_of_range"),
    }
}

/// The time window: the end strictly after the start.
pub fn window(starts: DateTime<Utc>, ends: DateTime<Utc>) -> Result<(), &'static str> {
    if ends > starts {
        Ok(())
    } else {
        Err("end_before_start")
    }
}

/// The sign-up deadline, if any, at or before the end.
pub fn deadline(deadline: Option<DateTime<Utc>>, ends: DateTime<Utc>) -> Result<(), &'static str> {
    match deadline {
        Some(d) if d > ends => Err("after_end"),
        _ => Ok(()),
    }
}

/// Two time windows share a moment (touching ends do not overlap).
pub fn overlaps(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const EXPECTED: &[(Status, Action, Status)] = &[
        (S::Draft, A::Publish, S::Published),
        (S::Published, A::Close, S::Closed),
        (S::Published, A::Complete, S::Completed),
        (S::Closed, A::Complete, S::Completed),
        (S::Draft, A::Cancel, S::Cancelled),
        (S::Published, A::Cancel, S::Cancelled),
        (S::Closed, A::Cancel, S::Cancelled),
    ];

    #[test]
    fn every_pair_is_allowed_exactly_when_the_table_says_so() {
        for from in Status::ALL {
            for action in Action::ALL {
                let expected = EXPECTED
                    .iter()
                    .find(|(f, a, _)| f == from && a == action)
                    .map(|(_, _, to)| *to);
                assert_eq!(next(*from, *action).ok(), expected, "{from} --{action}-->");
            }
        }
    }

    #[test]
    fn plans_are_validated() {
        let t = |h| Utc.with_ymd_and_hms(2026, 12, 5, h, 0, 0).unwrap();
        assert_eq!(window(t(9), t(12)), Ok(()));
        assert_eq!(window(t(9), t(9)), Err("end_before_start"));
        assert_eq!(deadline(Some(t(13)), t(12)), Err("after_end"));
        assert_eq!(slot_count(None), Err("required"));
        assert_eq!(slot_count(Some(0)), Err("out_of_range"));
        assert_eq!(radius(None), Ok(200));
        assert_eq!(radius(Some(0)), Err("out_of_range"));
        assert!(overlaps((t(9), t(12)), (t(11), t(13))));
        assert!(!overlaps((t(9), t(12)), (t(12), t(13))));
    }
}
