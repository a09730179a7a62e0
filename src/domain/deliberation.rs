//! 议事 deliberation: a topic's lifecycle as one table, its vote's state, and the text of the
//! notice that publishes a decision.
//!
//! A topic is raised, taken up at a meeting (scheduled, and rescheduled while scheduled), and
//! ends decided or dropped. A decision may be taken from `raised` too: a small matter needs no
//! meeting. A vote of the residents may be opened once while the topic is open; a decision
//! waits until it is closed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::string_enum;
use super::text::Text;
use super::validation::Fields;

string_enum!(Status {
    Raised => "raised",
    Scheduled => "scheduled",
    Decided => "decided",
    Dropped => "dropped",
});

string_enum!(Action {
    Edit => "edit",
    Schedule => "schedule",
    OpenVote => "open_vote",
    Decide => "decide",
    Drop => "drop",
});

use Action as A;
use Status as S;

/// From which states each action may be taken, and where it leads.
const TRANSITIONS: &[(Action, &[Status], Status)] = &[
    (A::Edit, &[S::Raised, S::Scheduled], S::Raised),
    (A::Schedule, &[S::Raised, S::Scheduled], S::Scheduled),
    (A::OpenVote, &[S::Raised, S::Scheduled], S::Raised),
    (A::Decide, &[S::Raised, S::Scheduled], S::Decided),
    (A::Drop, &[S::Raised, S::Scheduled], S::Dropped),
];

/// Where `action` leads from `from` (for `edit` and `open_vote`: the state stays), or the
/// stable code of the refusal.
pub fn next(from: Status, action: Action) -> Result<Status, &'static str> {
    TRANSITIONS
        .iter()
        .find(|(a, froms, _)| *a == action && froms.contains(&from))
        .map(|(a, _, to)| match a {
            A::Edit | A::OpenVote => from,
            _ => *to,
        })
        .ok_or("topic_not_open")
}

/// The states an action may be taken from, as stored text (for the conditional updates).
pub fn open_states() -> [&'static str; 2] {
    [S::Raised.as_str(), S::Scheduled.as_str()]
}

pub type Title = Text<100>;
pub type Description = Text<5000>;
pub type Place = Text<200>;
pub type OptionTitle = Text<100>;
pub type DecisionText = Text<5000>;
pub type Reason = Text<500>;

/// A vote offers this many options.
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 10;
/// A meeting names at most this many participants.
pub const MAX_PARTICIPANTS: usize = 200;

/// A vote's options: 2..=10 titles, none twice (`duplicate`, compared as trimmed).
pub fn parse_options(raw: Option<&[String]>, errors: &mut Fields) -> Option<Vec<OptionTitle>> {
    let Some(raw) = raw else {
        errors.push("options", "required");
        return None;
    };
    if raw.len() < MIN_OPTIONS {
        errors.push("options", "too_few");
        return None;
    }
    if raw.len() > MAX_OPTIONS {
        errors.push("options", "too_many");
        return None;
    }
    let mut out: Vec<OptionTitle> = Vec::with_capacity(raw.len());
    let mut ok = true;
    for (n, t) in raw.iter().enumerate() {
        match errors.check(&format!("options[{n}]"), OptionTitle::parse(t)) {
            Some(t) if out.iter().any(|o| o == &t) => {
                errors.push(format!("options[{n}]"), "duplicate");
                ok = false;
            }
            Some(t) => out.push(t),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// One participant of a meeting: an account of the community, or a name only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub user_id: Option<Uuid>,
    pub name: String,
}

/// A participant as a request names it: a user id, or `{"name": …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ParticipantInput {
    User(Uuid),
    Named(NamedParticipant),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedParticipant {
    pub name: Option<String>,
}

/// The state of a topic's vote at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteState {
    Open,
    Closed,
}

/// Open until closed by hand or until its closing time has come.
pub fn vote_state(
    closes_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> VoteState {
    match closed_at.is_none() && now < closes_at {
        true => VoteState::Open,
        false => VoteState::Closed,
    }
}

/// When a closed vote closed: by hand, or at its closing time, whichever came first.
pub fn closed_at(
    closes_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match (closed_at, now >= closes_at) {
        (Some(c), _) => Some(c.min(closes_at)),
        (None, true) => Some(closes_at),
        (None, false) => None,
    }
}

/// The title of the notice that publishes a decision.
pub fn notice_title(topic_title: &str) -> String {
    format!("议事决定：{topic_title}")
}

/// The body of the notice that publishes a decision: the decision, then the vote's totals (when
/// there was a vote), one option a line.
pub fn notice_body(decision: &str, totals: Option<&[(String, i64)]>) -> String {
    let mut body = decision.to_string();
    if let Some(totals) = totals {
        let cast: i64 = totals.iter().map(|(_, n)| n).sum();
        body.push_str(&format!("\n\n居民表决结果（共 {cast} 票）："));
        for (title, n) in totals {
            body.push_str(&format!("\n{title}：{n} 票"));
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_topic_is_decided_or_dropped_once_and_nothing_follows() {
        assert_eq!(next(S::Raised, A::Schedule), Ok(S::Scheduled));
        assert_eq!(next(S::Scheduled, A::Schedule), Ok(S::Scheduled));
        assert_eq!(next(S::Raised, A::Decide), Ok(S::Decided));
        assert_eq!(next(S::Scheduled, A::Decide), Ok(S::Decided));
        assert_eq!(next(S::Scheduled, A::Drop), Ok(S::Dropped));
        assert_eq!(next(S::Scheduled, A::OpenVote), Ok(S::Scheduled));
        assert_eq!(next(S::Raised, A::Edit), Ok(S::Raised));
        for done in [S::Decided, S::Dropped] {
            for a in Action::ALL {
                assert_eq!(next(done, *a), Err("topic_not_open"), "{done} {a}");
            }
        }
    }

    fn check(raw: &[&str]) -> Result<Vec<String>, Vec<(String, &'static str)>> {
        let raw: Vec<String> = raw.iter().map(|s| s.to_string()).collect();
        let mut e = Fields::new();
        let out = parse_options(Some(&raw), &mut e);
        match e.is_empty() {
            true => Ok(out.unwrap().into_iter().map(|t| t.into_inner()).collect()),
            false => Err(e
                .into_errors()
                .into_iter()
                .map(|f| (f.field, f.code))
                .collect()),
        }
    }

    #[test]
    fn a_vote_offers_two_to_ten_distinct_options() {
        assert_eq!(check(&[" 同意 ", "反对"]).unwrap(), ["同意", "反对"]);
        assert_eq!(
            check(&["同意"]).unwrap_err(),
            [("options".into(), "too_few")]
        );
        let eleven: Vec<String> = (0..11).map(|n| n.to_string()).collect();
        let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
        assert_eq!(
            check(&eleven).unwrap_err(),
            [("options".into(), "too_many")]
        );
        assert_eq!(
            check(&["同意", " 同意", ""]).unwrap_err(),
            [
                ("options[1]".into(), "duplicate"),
                ("options[2]".into(), "required")
            ]
        );
        let mut e = Fields::new();
        assert!(parse_options(None, &mut e).is_none());
        assert_eq!(e.into_errors()[0].code, "required");
    }

    #[test]
    fn a_vote_closes_by_hand_or_when_its_time_comes() {
        let now = Utc::now();
        let later = now + Duration::hours(1);
        assert_eq!(vote_state(later, None, now), VoteState::Open);
        assert_eq!(closed_at(later, None, now), None);
        assert_eq!(vote_state(now, None, now), VoteState::Closed);
        assert_eq!(closed_at(now, None, later), Some(now));
        assert_eq!(vote_state(later, Some(now), now), VoteState::Closed);
        assert_eq!(closed_at(later, Some(now), now), Some(now));
        // Closed by hand after its time: it closed at its time.
        assert_eq!(closed_at(now, Some(later), later), Some(now));
    }

    #[test]
    fn the_decision_notice_carries_the_totals() {
        assert_eq!(notice_title("增设充电桩"), "议事决定：增设充电桩");
        let totals = [("同意".to_string(), 3), ("反对".to_string(), 1)];
        let body = notice_body("同意在5号楼旁增设充电桩。", Some(&totals));
        assert_eq!(
            body,
            "同意在5号楼旁增设充电桩。\n\n居民表决结果（共 4 票）：\n同意：3 票\n反对：1 票"
        );
        assert_eq!(notice_body("不表决。", None), "不表决。");
    }
}
