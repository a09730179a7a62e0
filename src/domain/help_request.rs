//! Help requests (诉求/工单): their vocabulary and the lifecycle of DESIGN §3 as one table.

use super::string_enum;

string_enum!(Status {
    Submitted => "submitted",
    Dispatching => "dispatching",
    Offered => "offered",
    Accepted => "accepted",
    InProgress => "in_progress",
    Completed => "completed",
    Closed => "closed",
    Cancelled => "cancelled",
    Escalated => "escalated",
});

string_enum!(Channel {
    MiniProgram => "mini_program",
    App => "app",
    Phone => "phone",
    WalkIn => "walk_in",
    Visit => "visit",
    ThirdParty => "third_party",
});

string_enum!(Origin {
    Call => "call",
    Proactive => "proactive",
});

string_enum!(
    /// Who placed the request, relative to the resident it is for.
    PlacedAs {
        Resident => "resident",
        Relative => "relative",
        GridWorker => "grid_worker",
        Volunteer => "volunteer",
        Staff => "staff",
        Visit => "visit",
        ThirdParty => "third_party",
    }
);

string_enum!(DispatchMode {
    Auto => "auto",
    Broadcast => "broadcast",
    Manual => "manual",
    Claim => "claim",
});

string_enum!(OfferAnswer {
    Accepted => "accepted",
    Declined => "declined",
    Expired => "expired",
    Withdrawn => "withdrawn",
});

string_enum!(
    /// What may happen to a request. Each is one edge (or a set of edges) of the lifecycle.
    Action {
        TriageAccept => "triage_accept",
        TriageReject => "triage_reject",
        Offer => "offer",
        Escalate => "escalate",
        Accept => "accept",
        Claim => "claim",
        Start => "start",
        Return => "return",
        Complete => "complete",
        RateClose => "rate_close",
        AutoClose => "auto_close",
        Reopen => "reopen",
        Cancel => "cancel",
    }
);

use Action as A;
use Status as S;

/// The lifecycle: from which states each action may be taken, and where it leads.
/// `Offer` from `Offered` is the next round after every open offer was declined or expired.
const TRANSITIONS: &[(Action, &[Status], Status)] = &[
    (A::TriageAccept, &[S::Submitted], S::Dispatching),
    (A::TriageReject, &[S::Submitted], S::Closed),
    (
        A::Offer,
        &[S::Dispatching, S::Offered, S::Escalated],
        S::Offered,
    ),
    (A::Escalate, &[S::Dispatching, S::Offered], S::Escalated),
    (A::Accept, &[S::Offered], S::Accepted),
    (
        A::Claim,
        &[S::Dispatching, S::Offered, S::Escalated],
        S::Accepted,
    ),
    (A::Start, &[S::Accepted], S::InProgress),
    (A::Return, &[S::Accepted, S::InProgress], S::Dispatching),
    (A::Complete, &[S::InProgress], S::Completed),
    (A::RateClose, &[S::Completed], S::Closed),
    (A::AutoClose, &[S::Completed], S::Closed),
    (A::Reopen, &[S::Completed], S::Dispatching),
    (
        A::Cancel,
        &[
            S::Submitted,
            S::Dispatching,
            S::Offered,
            S::Accepted,
            S::InProgress,
            S::Escalated,
        ],
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

/// Every state `action` may be taken from, in the order of `Status::ALL`. SQL that lists such
/// states is pinned to this by a test beside it.
pub fn states_allowing(action: Action) -> Vec<Status> {
    Status::ALL
        .iter()
        .copied()
        .filter(|s| next(*s, action).is_ok())
        .collect()
}

/// The states a request is first stored in: waiting for triage, or straight to dispatch.
pub fn initial(triage: bool) -> Status {
    if triage { S::Submitted } else { S::Dispatching }
}

impl Status {
    /// No further transition is possible.
    pub fn is_final(self) -> bool {
        matches!(self, S::Closed | S::Cancelled)
    }

    /// Resolved for the three rates: the work was done.
    pub fn is_resolved(self) -> bool {
        matches!(self, S::Completed | S::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DESIGN §3 table, written out edge by edge; the code table must agree exactly.
    const EXPECTED: &[(Status, Action, Status)] = &[
        (S::Submitted, A::TriageAccept, S::Dispatching),
        (S::Submitted, A::TriageReject, S::Closed),
        (S::Dispatching, A::Offer, S::Offered),
        (S::Offered, A::Offer, S::Offered),
        (S::Escalated, A::Offer, S::Offered),
        (S::Dispatching, A::Escalate, S::Escalated),
        (S::Offered, A::Escalate, S::Escalated),
        (S::Offered, A::Accept, S::Accepted),
        (S::Dispatching, A::Claim, S::Accepted),
        (S::Offered, A::Claim, S::Accepted),
        (S::Escalated, A::Claim, S::Accepted),
        (S::Accepted, A::Start, S::InProgress),
        (S::Accepted, A::Return, S::Dispatching),
        (S::InProgress, A::Return, S::Dispatching),
        (S::InProgress, A::Complete, S::Completed),
        (S::Completed, A::RateClose, S::Closed),
        (S::Completed, A::AutoClose, S::Closed),
        (S::Completed, A::Reopen, S::Dispatching),
        (S::Submitted, A::Cancel, S::Cancelled),
        (S::Dispatching, A::Cancel, S::Cancelled),
        (S::Offered, A::Cancel, S::Cancelled),
        (S::Accepted, A::Cancel, S::Cancelled),
        (S::InProgress, A::Cancel, S::Cancelled),
        (S::Escalated, A::Cancel, S::Cancelled),
    ];

    #[test]
    fn every_pair_is_allowed_exactly_when_the_design_table_says_so() {
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
    fn final_states_go_nowhere_and_illegal_moves_have_a_code() {
        for s in [S::Closed, S::Cancelled] {
            assert!(s.is_final());
            for a in Action::ALL {
                assert_eq!(next(s, *a), Err("invalid_transition"));
            }
        }
        assert_eq!(initial(true), S::Submitted);
        assert_eq!(initial(false), S::Dispatching);
        assert_eq!(next(S::Completed, A::Cancel), Err("invalid_transition"));
    }

    #[test]
    fn the_states_allowing_an_action_are_the_tables() {
        assert_eq!(
            states_allowing(A::Claim),
            [S::Dispatching, S::Offered, S::Escalated]
        );
        assert_eq!(states_allowing(A::Complete), [S::InProgress]);
        for a in Action::ALL {
            for s in Status::ALL {
                assert_eq!(states_allowing(*a).contains(s), next(*s, *a).is_ok());
            }
        }
    }
}
