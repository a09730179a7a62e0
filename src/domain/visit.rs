//! Visits (走访, 未呼先应): their vocabulary, their lifecycle as one table, and the schedule of
//! a plan's due windows in the community's time zone.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::string_enum;

string_enum!(Status {
    Scheduled => "scheduled",
    InProgress => "in_progress",
    Completed => "completed",
    Missed => "missed",
    Cancelled => "cancelled",
});

string_enum!(Action {
    Start => "start",
    Complete => "complete",
    Miss => "miss",
    Cancel => "cancel",
});

string_enum!(
    /// How the care team is in touch: 入户走访, a phone or video call, or a service visit.
    ContactKind {
        HomeVisit => "home_visit",
        Phone => "phone",
        Video => "video",
        Service => "service",
    }
);

string_enum!(
    /// How the resident is, as the visitor found them.
    Condition {
        Well => "well",
        NeedsAttention => "needs_attention",
        Urgent => "urgent",
    }
);

string_enum!(
    /// A member's place in a care team (grid worker, family doctor, party-member volunteer).
    TeamRole {
        GridWorker => "grid_worker",
        Doctor => "doctor",
        PartyVolunteer => "party_volunteer",
        Volunteer => "volunteer",
    }
);

string_enum!(
    /// Why a visit exists: its plan's schedule, an urgent finding, or a major change.
    Reason {
        Plan => "plan",
        FollowUp => "follow_up",
        MajorChange => "major_change",
    }
);

string_enum!(
    /// A major change in a resident's life that calls for a visit within a day.
    MajorChange {
        HospitalDischarge => "hospital_discharge",
        Bereavement => "bereavement",
        Fall => "fall",
        Other => "other",
    }
);

string_enum!(
    /// Where a grade came from.
    GradeSource {
        Rules => "rules",
        Assessment => "assessment",
        Manual => "manual",
        Finding => "finding",
    }
);

use Action as A;
use Status as S;

/// The lifecycle. A visit may be completed straight from `scheduled` (a phone call recorded
/// afterwards) and late, after it was marked missed: coverage counts it as done, not on time.
const TRANSITIONS: &[(Action, &[Status], Status)] = &[
    (A::Start, &[S::Scheduled, S::Missed], S::InProgress),
    (
        A::Complete,
        &[S::Scheduled, S::InProgress, S::Missed],
        S::Completed,
    ),
    (A::Miss, &[S::Scheduled], S::Missed),
    (A::Cancel, &[S::Scheduled, S::Missed], S::Cancelled),
];

/// Where `action` leads from `from`, or the stable code of the refusal.
pub fn next(from: Status, action: Action) -> Result<Status, &'static str> {
    if from == S::Completed && action == A::Complete {
        return Err("visit_already_completed");
    }
    TRANSITIONS
        .iter()
        .find(|(a, froms, _)| *a == action && froms.contains(&from))
        .map(|(_, _, to)| *to)
        .ok_or("invalid_transition")
}

/// A move the jobs make on many visits in one statement: the visits in `from` go to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkMove {
    pub from: Status,
    pub to: Status,
}

/// Only visits not yet begun move in bulk: a window that passed is missed; a re-plan, an ended
/// plan or a departed resident cancels them. Where they go is the table's answer, as for one
/// visit, so the statements bind these states instead of naming their own.
pub fn bulk_move(action: Action) -> Result<BulkMove, &'static str> {
    Ok(BulkMove {
        from: S::Scheduled,
        to: next(S::Scheduled, action)?,
    })
}

/// One due window of a plan: the `seq`-th period of `every_days` days from the anchor day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub seq: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The instant a local calendar day begins in `tz` (the first valid local time on a day whose
/// midnight a DST change skips).
pub fn day_start(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    let mut t = midnight;
    for _ in 0..4 {
        if let Some(local) = tz.from_local_datetime(&t).earliest() {
            return local.with_timezone(&Utc);
        }
        t += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&midnight)
}

/// The local calendar day of an instant.
pub fn local_day(t: DateTime<Utc>, tz: Tz) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// The `seq`-th window of a plan anchored on `anchor` (a local day) every `every_days` days.
pub fn window(anchor: NaiveDate, every_days: u32, seq: i64, tz: Tz) -> Window {
    let from = anchor + Duration::days(seq * every_days as i64);
    let to = from + Duration::days(every_days as i64);
    Window {
        seq,
        start: day_start(from, tz),
        end: day_start(to, tz),
    }
}

/// The windows from `first_seq` on that start before `until` and on or before the plan's last
/// day: what generation creates now.
pub fn windows_until(
    anchor: NaiveDate,
    every_days: u32,
    first_seq: i64,
    until: DateTime<Utc>,
    ends_on: Option<NaiveDate>,
    tz: Tz,
) -> Vec<Window> {
    let mut out = Vec::new();
    let mut seq = first_seq;
    loop {
        let w = window(anchor, every_days, seq, tz);
        let first_day = anchor + Duration::days(seq * every_days as i64);
        if w.start >= until || ends_on.is_some_and(|e| first_day > e) {
            return out;
        }
        out.push(w);
        seq += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_refuses_out_of_order_actions_with_stable_codes() {
        assert_eq!(next(S::Scheduled, A::Start), Ok(S::InProgress));
        assert_eq!(next(S::InProgress, A::Complete), Ok(S::Completed));
        assert_eq!(next(S::Scheduled, A::Complete), Ok(S::Completed));
        assert_eq!(next(S::Missed, A::Complete), Ok(S::Completed));
        assert_eq!(
            next(S::Completed, A::Complete),
            Err("visit_already_completed")
        );
        assert_eq!(next(S::Cancelled, A::Start), Err("invalid_transition"));
        assert_eq!(next(S::InProgress, A::Miss), Err("invalid_transition"));
        assert_eq!(next(S::Completed, A::Cancel), Err("invalid_transition"));
        for a in Action::ALL {
            assert!(next(S::Cancelled, *a).is_err());
        }
    }

    #[test]
    fn bulk_moves_take_the_visits_not_begun_where_the_table_sends_one() {
        for (action, to) in [(A::Miss, S::Missed), (A::Cancel, S::Cancelled)] {
            let m = bulk_move(action).unwrap();
            assert_eq!((m.from, m.to), (S::Scheduled, to), "{action}");
            assert_eq!(next(m.from, action), Ok(m.to));
        }
        // Missed visits stay missed when the rest of a plan is cancelled: history, not plans.
        assert_ne!(bulk_move(A::Cancel).unwrap().from, S::Missed);
    }

    #[test]
    fn windows_are_local_days_in_the_community_zone() {
        let tz = chrono_tz::Asia::Shanghai;
        let anchor = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let w = window(anchor, 7, 1, tz);
        // 8 December 00:00 in Shanghai is 7 December 16:00 UTC.
        assert_eq!(
            w.start,
            Utc.with_ymd_and_hms(2026, 12, 7, 16, 0, 0).unwrap()
        );
        assert_eq!(w.end, Utc.with_ymd_and_hms(2026, 12, 14, 16, 0, 0).unwrap());
    }

    #[test]
    fn windows_follow_the_wall_clock_across_daylight_saving() {
        let tz = chrono_tz::Europe::Berlin;
        let anchor = NaiveDate::from_ymd_opt(2026, 3, 28).unwrap();
        let w = window(anchor, 1, 1, tz);
        // 29 March 2026 is 23 hours long in Berlin.
        assert_eq!(w.end - w.start, Duration::hours(23));
        assert_eq!(local_day(w.start, tz), anchor + Duration::days(1));
    }

    #[test]
    fn generation_stops_at_the_horizon_and_the_plans_end() {
        let tz = chrono_tz::Asia::Shanghai;
        let anchor = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let until = day_start(anchor + Duration::days(28), tz);
        let ws = windows_until(anchor, 7, 0, until, None, tz);
        assert_eq!(ws.len(), 4);
        assert_eq!(ws.iter().map(|w| w.seq).collect::<Vec<_>>(), [0, 1, 2, 3]);
        // Consecutive windows leave no gap.
        assert!(ws.windows(2).all(|p| p[0].end == p[1].start));
        let from_two = windows_until(anchor, 7, 2, until, None, tz);
        assert_eq!(from_two, ws[2..]);
        let ended = windows_until(anchor, 7, 0, until, Some(anchor + Duration::days(7)), tz);
        assert_eq!(ended.len(), 2);
        assert!(windows_until(anchor, 90, 1, until, None, tz).is_empty());
    }
}
