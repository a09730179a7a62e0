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
        // The timeline's own bookkeeping tells nobody.
        for k in [
            "help_request.placed",
            "help_request.alert",
            "help_request.offer_declined",
        ] {
            assert!(rule_for(k).is_none(), "{k}");
        }
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
