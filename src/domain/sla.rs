//! The deadlines of a help request (DESIGN §3): when they fall, when the assignee is reminded
//! (催办), what is due at a given time and which checkpoint comes next. Times only; the sweeper
//! and the lifecycle decide what to write.

use chrono::{DateTime, Duration, Utc};

use super::policy::SlaPolicy;
use super::urgency::Urgency;

/// A service type's own targets: they hold at its default urgency only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceTargets {
    pub urgency: Urgency,
    pub respond_minutes: i64,
    pub resolve_hours: i64,
}

/// The response and resolution deadlines of a request of `urgency` set at `from`: the service
/// type's own targets at its default urgency, the policy's otherwise.
pub fn deadlines(
    urgency: Urgency,
    own: Option<ServiceTargets>,
    policy: &SlaPolicy,
    from: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let (respond, resolve) = match own {
        Some(t) if t.urgency == urgency => (t.respond_minutes, t.resolve_hours),
        _ => {
            let s = policy.for_urgency(urgency);
            (i64::from(s.respond_minutes), i64::from(s.resolve_hours))
        }
    };
    (
        from + Duration::minutes(respond),
        from + Duration::hours(resolve),
    )
}

/// When the assignee is reminded (催办) of a deadline: `percent` of the way from when the
/// deadline was set (placing for the response, placing or the last reopen for the resolution).
pub fn reminder_at(set_at: DateTime<Utc>, due: DateTime<Utc>, percent: u32) -> DateTime<Utc> {
    set_at + (due - set_at) * i32::try_from(percent).unwrap_or(75) / 100
}

/// One deadline of a request as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub set_at: DateTime<Utc>,
    pub due: DateTime<Utc>,
    /// Responded to, or completed: nothing more to watch.
    pub met: bool,
    pub reminded: bool,
    pub overdue: bool,
}

/// What falls due for one deadline at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Due {
    /// The reminder: its point has passed, the deadline not yet.
    pub remind: bool,
    /// The deadline itself has passed.
    pub overdue: bool,
}

impl Deadline {
    /// What is due at `now` and not yet handled.
    pub fn due_at(&self, remind_percent: u32, now: DateTime<Utc>) -> Due {
        if self.met {
            return Due::default();
        }
        Due {
            remind: !self.reminded
                && now >= reminder_at(self.set_at, self.due, remind_percent)
                && now < self.due,
            overdue: !self.overdue && now >= self.due,
        }
    }
}

/// The next checkpoint (a reminder or a deadline) not yet handled, never before `now`.
pub fn next_checkpoint(
    deadlines: &[Deadline],
    remind_percent: u32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut points = Vec::new();
    for d in deadlines.iter().filter(|d| !d.met) {
        if !d.reminded {
            points.push(reminder_at(d.set_at, d.due, remind_percent));
        }
        if !d.overdue {
            points.push(d.due);
        }
    }
    points.into_iter().min().map(|t| t.max(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, h, 0, 0).unwrap()
    }

    fn open(set_at: DateTime<Utc>, due: DateTime<Utc>) -> Deadline {
        Deadline {
            set_at,
            due,
            met: false,
            reminded: false,
            overdue: false,
        }
    }

    #[test]
    fn reminders_fall_at_their_share_of_the_time_since_the_deadline_was_set() {
        let set = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap();
        let due = set + Duration::hours(4);
        assert_eq!(reminder_at(set, due, 75), set + Duration::hours(3));
        // A reopen a week later starts the clock again.
        let reopened = set + Duration::days(7);
        assert_eq!(
            reminder_at(reopened, reopened + Duration::hours(72), 50),
            reopened + Duration::hours(36)
        );
    }

    #[test]
    fn a_service_types_own_targets_hold_at_its_default_urgency_only() {
        let policy = SlaPolicy::default();
        let own = Some(ServiceTargets {
            urgency: Urgency::Urgent,
            respond_minutes: 30,
            resolve_hours: 6,
        });
        let from = at(8);
        assert_eq!(
            deadlines(Urgency::Urgent, own, &policy, from),
            (from + Duration::minutes(30), from + Duration::hours(6))
        );
        // Any other urgency, or no targets of its own: the policy's (15 min / 4 h for emergencies).
        let emergency = (from + Duration::minutes(15), from + Duration::hours(4));
        assert_eq!(deadlines(Urgency::Emergency, own, &policy, from), emergency);
        assert_eq!(
            deadlines(Urgency::Emergency, None, &policy, from),
            emergency
        );
    }

    #[test]
    fn a_deadline_reminds_between_its_reminder_point_and_itself_then_is_overdue() {
        let d = open(at(8), at(12));
        assert_eq!(d.due_at(75, at(10)), Due::default());
        let remind = Due {
            remind: true,
            overdue: false,
        };
        assert_eq!(d.due_at(75, at(11)), remind);
        // Past the deadline only the overdue flag is due, whether or not it was reminded.
        let overdue = Due {
            remind: false,
            overdue: true,
        };
        assert_eq!(d.due_at(75, at(12)), overdue);
        let handled = Deadline {
            reminded: true,
            overdue: true,
            ..d
        };
        assert_eq!(handled.due_at(75, at(13)), Due::default());
        let met = Deadline { met: true, ..d };
        assert_eq!(met.due_at(75, at(13)), Due::default());
    }

    #[test]
    fn the_next_checkpoint_is_the_earliest_unhandled_point_never_in_the_past() {
        let respond = open(at(8), at(12));
        let resolve = open(at(8), at(20));
        // Response reminder at 11:00 comes first.
        assert_eq!(
            next_checkpoint(&[respond, resolve], 75, at(8)),
            Some(at(11))
        );
        let reminded = Deadline {
            reminded: true,
            ..respond
        };
        assert_eq!(
            next_checkpoint(&[reminded, resolve], 75, at(8)),
            Some(at(12))
        );
        // Once responded, the resolution's reminder (17:00) is next.
        let responded = Deadline {
            met: true,
            ..respond
        };
        assert_eq!(
            next_checkpoint(&[responded, resolve], 75, at(8)),
            Some(at(17))
        );
        // A checkpoint already passed is due now.
        assert_eq!(
            next_checkpoint(&[responded, resolve], 75, at(18)),
            Some(at(18))
        );
        let done = Deadline {
            met: true,
            ..resolve
        };
        assert_eq!(next_checkpoint(&[responded, done], 75, at(8)), None);
    }
}
