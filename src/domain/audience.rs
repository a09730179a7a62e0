//! Who is told about which event, on which channels: the one table of DESIGN §7's notifications.
//! An event kind missing here tells nobody personally (webhooks still carry every event).

/// A group of people an event concerns, found through the object it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The volunteers a request was just offered to.
    OfferedVolunteers,
    /// The volunteer a request is assigned to.
    Assignee,
    /// The resident the request is for, through their own account.
    Resident,
    /// Whoever placed the request for the resident (a relative, a dispatcher taking a call).
    Placer,
    /// The community's dispatchers.
    Dispatchers,
    /// The grid workers serving the object's grid.
    GridWorkers,
    /// The care team of the visit's plan.
    CareTeam,
    /// The community's admins (who run its webhooks).
    CommunityAdmins,
    /// The volunteers a mobilisation calls: its community's active volunteers, or those of the
    /// chosen grids, teams or skills; a non-emergency only those free at its time by their
    /// weekly hours (or who declared none).
    MobilisationAudience,
    /// The volunteer the event names (`data.volunteer_id`).
    NamedVolunteer,
    /// The volunteers holding a live sign-up (confirmed or waiting) for the mobilisation.
    SignedUp,
    /// The community's residents who have an account (三务公开 is for all of them).
    CommunityResidents,
}

/// One row of the table.
#[derive(Debug)]
pub struct Rule {
    /// `outbox.topic`: `<aggregate>.<event kind>`.
    pub topic: &'static str,
    pub to: &'static [Audience],
    /// Also sent as a WeChat subscription message, where the community maps the kind to a
    /// template and the person has a WeChat identity (residents and volunteers use the
    /// mini-program; staff read their console).
    pub wechat: bool,
}

use Audience::*;

const RESIDENT_SIDE: &[Audience] = &[Resident, Placer];
const STAFF_SIDE: &[Audience] = &[Dispatchers, GridWorkers];

pub const RULES: &[Rule] = &[
    // 派单: the offer reaches its volunteer, who has minutes to answer.
    rule("help_request.offered", &[OfferedVolunteers], true),
    rule(
        "help_request.dispatched_by_hand",
        &[OfferedVolunteers],
        true,
    ),
    rule(
        "help_request.dispatched_in_batch",
        &[OfferedVolunteers],
        true,
    ),
    // 接单 … 评单: the resident follows their request.
    rule("help_request.accepted", RESIDENT_SIDE, true),
    rule("help_request.claimed", RESIDENT_SIDE, true),
    rule("help_request.started", RESIDENT_SIDE, true),
    rule("help_request.completed", RESIDENT_SIDE, true),
    rule("help_request.returned", RESIDENT_SIDE, true),
    rule("help_request.cancelled", RESIDENT_SIDE, true),
    rule("help_request.reopened", RESIDENT_SIDE, true),
    // Nobody could take it; 催办 before a deadline (also to whoever holds it); 督办 after it.
    rule("help_request.escalated", STAFF_SIDE, false),
    rule(
        "help_request.reminder",
        &[Assignee, Dispatchers, GridWorkers],
        true,
    ),
    rule("help_request.overdue", STAFF_SIDE, false),
    // 未呼先应.
    rule("visit.missed", STAFF_SIDE, false),
    rule("visit.due", &[CareTeam], true),
    rule("visit.major_change", &[CareTeam], true),
    // A third-party system no longer hears from the community: its webhook was turned off.
    rule("webhook.disabled", &[CommunityAdmins], false),
    // 一呼百应: the call reaches its audience; a waiting volunteer hears they have a place;
    // everyone signed up hears of a cancellation. Sign-ups and withdrawals tell nobody.
    rule("mobilisation.published", &[MobilisationAudience], true),
    rule("mobilisation.promoted", &[NamedVolunteer], true),
    rule("mobilisation.cancelled", &[SignedUp], true),
    // A child not picked up after an activity's session: the station acts.
    rule("activity.pickup_overdue", &[Dispatchers], false),
    // 三务公开: a notice, when it becomes public, reaches the residents (corrections and
    // unpublishing reach webhooks only: the board shows them).
    rule("notice.published", &[CommunityResidents], true),
];

const fn rule(topic: &'static str, to: &'static [Audience], wechat: bool) -> Rule {
    Rule { topic, to, wechat }
}

/// The rule for an outbox topic, if anyone is told about it.
pub fn rule_for(topic: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.topic == topic)
}

/// Every kind a person may be told about: what an inbox item's `kind` can be.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.topic)
}

/// The weekly windows `(weekday, start_minute, end_minute)` (ISO weekday, minutes in the
/// community's zone, as volunteers declare their availability) that the span `start..end`
/// touches: a volunteer free in any of them can come for part of it. A span of a week or more
/// touches every day whole.
pub fn weekly_windows<Z: chrono::TimeZone>(
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    tz: &Z,
) -> Vec<(i64, i64, i64)> {
    use chrono::{Datelike, Timelike};
    const DAY: i64 = 24 * 60;
    let minute = |t: &chrono::DateTime<Z>| i64::from(t.hour() * 60 + t.minute());
    if end <= start {
        return Vec::new();
    }
    if end - start >= chrono::Duration::days(7) {
        return (1..=7).map(|d| (d, 0, DAY)).collect();
    }
    let (s, e) = (start.with_timezone(tz), end.with_timezone(tz));
    let (first, last) = (s.date_naive(), e.date_naive());
    let days = (last - first).num_days();
    let mut out = Vec::new();
    for n in 0..=days {
        let day = first + chrono::Duration::days(n);
        let from = if n == 0 { minute(&s) } else { 0 };
        // An end on the stroke of midnight touches nothing of that day.
        let to = if n == days { minute(&e) } else { DAY };
        if to > from {
            out.push((i64::from(day.weekday().number_from_monday()), from, to));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_list_is_the_table() {
        let to = |t: &str| rule_for(t).map(|r| r.to.to_vec()).unwrap_or_default();
        assert_eq!(to("help_request.offered"), [OfferedVolunteers]);
        for k in [
            "accepted",
            "started",
            "completed",
            "returned",
            "cancelled",
            "reopened",
        ] {
            assert_eq!(to(&format!("help_request.{k}")), [Resident, Placer], "{k}");
        }
        for k in ["escalated", "overdue"] {
            assert_eq!(to(&format!("help_request.{k}")), [Dispatchers, GridWorkers]);
        }
        assert!(to("help_request.reminder").contains(&Dispatchers));
        assert_eq!(to("visit.missed"), [Dispatchers, GridWorkers]);
        assert_eq!(to("visit.due"), [CareTeam]);
        assert_eq!(to("visit.major_change"), [CareTeam]);
        assert_eq!(to("webhook.disabled"), [CommunityAdmins]);
        assert_eq!(to("mobilisation.published"), [MobilisationAudience]);
        assert_eq!(to("mobilisation.promoted"), [NamedVolunteer]);
        assert_eq!(to("mobilisation.cancelled"), [SignedUp]);
        assert_eq!(to("activity.pickup_overdue"), [Dispatchers]);
        assert_eq!(to("notice.published"), [CommunityResidents]);
        assert!(rule_for("notice.corrected").is_none());
        // The timeline's own bookkeeping tells nobody.
        for k in [
            "help_request.placed",
            "help_request.alert",
            "help_request.offer_declined",
            "mobilisation.created",
            "mobilisation.signed_up",
            "mobilisation.withdrawn",
            "mobilisation.removed",
            "mobilisation.closed",
            "mobilisation.completed",
        ] {
            assert!(rule_for(k).is_none(), "{k}");
        }
    }

    #[test]
    fn a_span_touches_the_weekly_windows_of_its_days_in_the_zone() {
        let t = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        let sh = chrono_tz::Asia::Shanghai;
        // Monday 2030-07-01 08:00–12:00 UTC is 16:00–20:00 in Shanghai.
        assert_eq!(
            weekly_windows(t("2030-07-01T08:00:00Z"), t("2030-07-01T12:00:00Z"), &sh),
            [(1, 960, 1200)]
        );
        // Across midnight: the end of Monday and the start of Tuesday.
        assert_eq!(
            weekly_windows(t("2030-07-01T14:00:00Z"), t("2030-07-01T18:00:00Z"), &sh),
            [(1, 1320, 1440), (2, 0, 120)]
        );
        // Ending at midnight touches nothing of the next day.
        assert_eq!(
            weekly_windows(t("2030-07-01T14:00:00Z"), t("2030-07-01T16:00:00Z"), &sh),
            [(1, 1320, 1440)]
        );
        assert_eq!(
            weekly_windows(t("2030-07-01T00:00:00Z"), t("2030-07-09T00:00:00Z"), &sh).len(),
            7
        );
        assert!(
            weekly_windows(t("2030-07-01T08:00:00Z"), t("2030-07-01T08:00:00Z"), &sh).is_empty()
        );
    }

    #[test]
    fn each_topic_has_one_rule() {
        let mut topics: Vec<_> = kinds().collect();
        topics.sort();
        let n = topics.len();
        topics.dedup();
        assert_eq!(topics.len(), n);
    }

    #[test]
    fn staff_only_kinds_go_to_no_mini_program() {
        for r in RULES {
            if r.to
                .iter()
                .all(|a| matches!(a, Dispatchers | GridWorkers | CommunityAdmins))
            {
                assert!(!r.wechat, "{}", r.topic);
            }
        }
    }
}
