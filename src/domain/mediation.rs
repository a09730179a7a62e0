//! 调解 mediation: the kinds of dispute, a case's two states, its outcomes, the parties, and
//! what an outcome must (and must not) carry.
//!
//! A case is `open` until its outcome closes it, once: an agreement reached (with the
//! agreement's text), none reached, or the dispute referred on (to whom). A follow-up date may
//! go with an agreement or with none reached; a referred case is another body's to follow.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::phone::Phone;
use super::string_enum;
use super::text::{Name, Text};
use super::validation::Fields;

string_enum!(
    /// The kind of dispute.
    Kind {
        Neighbour => "neighbour",
        Family => "family",
        Property => "property",
        Tenancy => "tenancy",
        Labour => "labour",
        Other => "other",
    }
);

string_enum!(Status {
    Open => "open",
    Closed => "closed",
});

string_enum!(Outcome {
    Agreement => "agreement",
    NoAgreement => "no_agreement",
    Referred => "referred",
});

/// What the dispute is about, in a line or a paragraph.
pub type Summary = Text<2000>;
/// A session's notes.
pub type Notes = Text<10_000>;
/// Where a session was held; to whom a case was referred.
pub type Place = Text<200>;
/// The agreement reached (人民调解协议), as signed.
pub type AgreementText = Text<10_000>;

/// At least two parties to a dispute, and at most this many.
pub const MIN_PARTIES: usize = 2;
pub const MAX_PARTIES: usize = 10;
/// A follow-up at most this many days ahead.
pub const MAX_FOLLOW_UP_DAYS: u64 = 366;

/// One party as a request names it: a resident, or an outsider by name (with a phone).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resident_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A checked party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    Resident(Uuid),
    Outsider { name: Name, phone: Option<Phone> },
}

/// Checks the parties: 2..=10, each a resident or a named outsider (not both), no resident
/// twice. Every fault goes into `errors` under `parties[n].…`.
pub fn parse_parties(input: Option<&[PartyInput]>, errors: &mut Fields) -> Option<Vec<Party>> {
    let Some(raw) = input else {
        errors.push("parties", "required");
        return None;
    };
    if raw.len() < MIN_PARTIES {
        errors.push("parties", "too_few");
    } else if raw.len() > MAX_PARTIES {
        errors.push("parties", "too_many");
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut ok = true;
    for (n, p) in raw.iter().enumerate().take(MAX_PARTIES) {
        let at = |f: &str| format!("parties[{n}].{f}");
        match (p.resident_id, &p.name) {
            (Some(r), None) => {
                if p.phone.is_some() {
                    // A resident's number is the registry's.
                    errors.push(at("phone"), "not_allowed");
                    ok = false;
                } else if out.contains(&Party::Resident(r)) {
                    errors.push(at("resident_id"), "duplicate");
                    ok = false;
                } else {
                    out.push(Party::Resident(r));
                }
            }
            (None, Some(name)) => {
                let name = errors.check(&at("name"), Name::parse(name));
                let phone = errors.check_opt(&at("phone"), p.phone.as_deref(), Phone::parse);
                match (name, phone) {
                    (Some(name), Some(phone)) => out.push(Party::Outsider { name, phone }),
                    _ => ok = false,
                }
            }
            (Some(_), Some(_)) => {
                errors.push(at("name"), "not_allowed");
                ok = false;
            }
            (None, None) => {
                errors.push(at("resident_id"), "required");
                ok = false;
            }
        }
    }
    (ok && (MIN_PARTIES..=MAX_PARTIES).contains(&raw.len())).then_some(out)
}

/// An outcome as a request gives it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    pub outcome: Option<String>,
    pub agreement_text: Option<String>,
    pub referred_to: Option<String>,
    pub follow_up_on: Option<NaiveDate>,
}

/// A checked outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    pub outcome: Outcome,
    pub agreement_text: Option<AgreementText>,
    pub referred_to: Option<Place>,
    pub follow_up_on: Option<NaiveDate>,
}

/// Checks an outcome on `today` (the community's date): an agreement carries its text, a
/// referral whom it went to, and neither field goes with another outcome (`not_allowed`); a
/// follow-up date lies from today to a year ahead and goes with no referral.
pub fn parse_outcome(
    i: &OutcomeInput,
    today: NaiveDate,
) -> Result<Closing, Vec<super::FieldError>> {
    let mut f = Fields::new();
    let outcome = match i.outcome.as_deref() {
        None => {
            f.push("outcome", "required");
            None
        }
        Some(o) => f.check("outcome", Outcome::parse(o)),
    };
    let agreement_text = f
        .check_opt(
            "agreement_text",
            i.agreement_text.as_deref(),
            AgreementText::parse,
        )
        .flatten();
    let referred_to = f
        .check_opt("referred_to", i.referred_to.as_deref(), Place::parse)
        .flatten();
    if let Some(o) = outcome {
        let wants_text = o == Outcome::Agreement;
        let wants_referral = o == Outcome::Referred;
        match (wants_text, i.agreement_text.is_some()) {
            (true, false) => f.push("agreement_text", "required"),
            (false, true) => f.push("agreement_text", "not_allowed"),
            _ => {}
        }
        match (wants_referral, i.referred_to.is_some()) {
            (true, false) => f.push("referred_to", "required"),
            (false, true) => f.push("referred_to", "not_allowed"),
            _ => {}
        }
        if wants_referral && i.follow_up_on.is_some() {
            f.push("follow_up_on", "not_allowed");
        }
    }
    if let Some(d) = i.follow_up_on {
        if d < today {
            f.push("follow_up_on", "in_the_past");
        } else if today
            .checked_add_days(Days::new(MAX_FOLLOW_UP_DAYS))
            .is_some_and(|last| d > last)
        {
            f.push("follow_up_on", "too_far");
        }
    }
    f.finish(|| {
        Some(Closing {
            outcome: outcome?,
            agreement_text,
            referred_to,
            follow_up_on: i.follow_up_on,
        })
    })
}

/// The day `d` in zone `tz`, as the window of a visit due that day: from its first moment to
/// the next day's.
pub fn day_window<Z: TimeZone>(d: NaiveDate, tz: &Z) -> (DateTime<Utc>, DateTime<Utc>) {
    let start_of = |day: NaiveDate| {
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
        tz.from_local_datetime(&midnight)
            .earliest()
            // A zone skipping midnight (a DST change at 00:00): the first hour that exists.
            .or_else(|| {
                tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| midnight.and_utc())
    };
    let next = d.succ_opt().unwrap_or(d);
    (start_of(d), start_of(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resident() -> PartyInput {
        PartyInput {
            resident_id: Some(Uuid::now_v7()),
            ..Default::default()
        }
    }

    fn outsider(name: &str, phone: Option<&str>) -> PartyInput {
        PartyInput {
            name: Some(name.into()),
            phone: phone.map(Into::into),
            ..Default::default()
        }
    }

    fn codes(f: Fields) -> Vec<(String, &'static str)> {
        f.into_errors()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn parties_are_residents_or_named_outsiders_two_to_ten() {
        let mut f = Fields::new();
        let got = parse_parties(
            Some(&[resident(), outsider(" 李先生 ", Some("138 1234 5678"))]),
            &mut f,
        )
        .unwrap();
        assert!(f.is_empty());
        assert!(matches!(got[0], Party::Resident(_)));
        assert_eq!(
            got[1],
            Party::Outsider {
                name: Name::parse("李先生").unwrap(),
                phone: Some(Phone::parse("13812345678").unwrap())
            }
        );

        let mut f = Fields::new();
        assert!(parse_parties(Some(&[resident()]), &mut f).is_none());
        assert_eq!(codes(f), [("parties".into(), "too_few")]);

        let mut f = Fields::new();
        let many: Vec<_> = (0..11).map(|_| resident()).collect();
        assert!(parse_parties(Some(&many), &mut f).is_none());
        assert_eq!(codes(f), [("parties".into(), "too_many")]);

        let mut f = Fields::new();
        assert!(parse_parties(None, &mut f).is_none());
        assert_eq!(codes(f), [("parties".into(), "required")]);
    }

    #[test]
    fn a_bad_party_is_named_by_its_place() {
        let r = resident();
        let both = PartyInput {
            resident_id: r.resident_id,
            name: Some("x".into()),
            phone: None,
        };
        let with_phone = PartyInput {
            phone: Some("13812345678".into()),
            ..r.clone()
        };
        let mut f = Fields::new();
        let parties = [
            r.clone(),
            r.clone(),
            both,
            PartyInput::default(),
            outsider("", None),
            outsider("王", Some("123")),
            with_phone,
        ];
        assert!(parse_parties(Some(&parties), &mut f).is_none());
        assert_eq!(
            codes(f),
            [
                ("parties[1].resident_id".into(), "duplicate"),
                ("parties[2].name".into(), "not_allowed"),
                ("parties[3].resident_id".into(), "required"),
                ("parties[4].name".into(), "required"),
                ("parties[5].phone".into(), "invalid_phone"),
                ("parties[6].phone".into(), "not_allowed"),
            ]
        );
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn outcome(o: &str, text: Option<&str>, to: Option<&str>, on: Option<&str>) -> OutcomeInput {
        OutcomeInput {
            outcome: Some(o.into()),
            agreement_text: text.map(Into::into),
            referred_to: to.map(Into::into),
            follow_up_on: on.map(day),
        }
    }

    fn fields(r: Result<Closing, Vec<super::super::FieldError>>) -> Vec<(String, &'static str)> {
        r.unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn each_outcome_carries_what_belongs_to_it() {
        let today = day("2026-12-01");
        let a = parse_outcome(
            &outcome("agreement", Some("双方同意"), None, Some("2026-12-15")),
            today,
        )
        .unwrap();
        assert_eq!(a.outcome, Outcome::Agreement);
        assert_eq!(a.follow_up_on, Some(day("2026-12-15")));
        let n = parse_outcome(
            &outcome("no_agreement", None, None, Some("2026-12-01")),
            today,
        )
        .unwrap();
        assert_eq!(n.agreement_text, None);
        let r = parse_outcome(&outcome("referred", None, Some("区法院"), None), today).unwrap();
        assert_eq!(r.referred_to.unwrap().as_str(), "区法院");

        let cases = [
            (
                outcome("agreement", None, None, None),
                vec![("agreement_text", "required")],
            ),
            (
                outcome("no_agreement", Some("x"), Some("y"), None),
                vec![
                    ("agreement_text", "not_allowed"),
                    ("referred_to", "not_allowed"),
                ],
            ),
            (
                outcome("referred", None, None, Some("2026-12-02")),
                vec![("referred_to", "required"), ("follow_up_on", "not_allowed")],
            ),
            (
                outcome("agreement", Some(" "), None, Some("2026-11-30")),
                vec![
                    ("agreement_text", "required"),
                    ("follow_up_on", "in_the_past"),
                ],
            ),
            (
                outcome("no_agreement", None, None, Some("2028-01-01")),
                vec![("follow_up_on", "too_far")],
            ),
            (
                outcome("settled", None, None, None),
                vec![("outcome", "unknown_value")],
            ),
            (OutcomeInput::default(), vec![("outcome", "required")]),
        ];
        for (input, want) in cases {
            let want: Vec<(String, &str)> =
                want.into_iter().map(|(f, c)| (f.to_string(), c)).collect();
            assert_eq!(fields(parse_outcome(&input, today)), want, "{input:?}");
        }
    }

    #[test]
    fn a_follow_up_day_is_the_local_day() {
        let tz = chrono_tz::Asia::Shanghai;
        let (start, end) = day_window(day("2026-12-15"), &tz);
        assert_eq!(start.to_rfc3339(), "2026-12-14T16:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-12-15T16:00:00+00:00");
    }

    #[test]
    fn kinds_and_outcomes_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Ok(*k));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Ok(*o));
        }
        assert_eq!(Kind::parse("war"), Err("unknown_value"));
    }
}
