//! A community's policy: dispatch, deadlines, rating and visit grades are data the community
//! edits, not code. Missing sections take the defaults of DESIGN §3–§5.

use serde::{Deserialize, Serialize};

use super::FieldError;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommunityPolicy {
    /// Whether new requests wait for a dispatcher's triage before dispatch.
    pub triage: bool,
    pub dispatch: DispatchPolicy,
    pub sla: SlaPolicy,
    pub rating: RatingPolicy,
    pub visit: VisitPolicy,
    pub deadlines: DeadlinePolicy,
    pub hours: HoursPolicy,
    /// WeChat subscription messages by event kind.
    pub wechat: super::wechat_template::WechatPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeadlinePolicy {
    /// The assignee is reminded (催办) once this share of the time to a deadline has passed.
    pub remind_at_percent: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HoursPolicy {
    /// The most service time one completed request credits, however long it took.
    pub max_minutes_per_request: u32,
    /// Time-bank points an approved hour earns (0: no time bank). Fractions of an hour earn
    /// their share, rounded down.
    pub points_per_hour: u32,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        Self {
            remind_at_percent: 75,
        }
    }
}

impl Default for HoursPolicy {
    fn default() -> Self {
        Self {
            max_minutes_per_request: 8 * 60,
            points_per_hour: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatchPolicy {
    pub max_attempts: u32,
    pub broadcast_k: u32,
    pub offer_ttl_minutes: PerUrgency<u32>,
    pub weights: ScoreWeights,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerUrgency<T> {
    pub emergency: T,
    pub urgent: T,
    pub normal: T,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreWeights {
    pub distance: f64,
    pub load: f64,
    pub continuity: f64,
    pub reliability: f64,
    pub rating: f64,
    pub fairness: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    pub respond_minutes: u32,
    pub resolve_hours: u32,
}

pub type SlaPolicy = PerUrgency<Sla>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RatingPolicy {
    /// Completed requests with no rating close by themselves after this many days.
    pub auto_close_days: u32,
    /// Ratings at or above this count as satisfied (满意) in 满意率 and do not reopen.
    pub satisfied_from: u32,
}

/// 分级: grades are listed from the highest risk down; a resident takes the highest grade of
/// any rule they meet, else `default_grade` (none: not graded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VisitPolicy {
    pub grades: Vec<VisitGrade>,
    pub rules: Vec<GradeRule>,
    pub default_grade: Option<String>,
    /// Visits are generated this many days ahead.
    pub horizon_days: u32,
    /// A major change (discharge, bereavement, a fall) brings a visit within this many hours.
    pub major_change_within_hours: u32,
    /// An urgent finding brings the next visit within this many hours.
    pub urgent_follow_up_hours: u32,
}

/// One way into a grade: every condition it states must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GradeRule {
    pub grade: String,
    /// At least one of these care categories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub any_categories: Vec<String>,
    /// Every one of these care categories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub all_categories: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_age: Option<u32>,
    /// The grid worker's assessment rates some dimension at least this (0 none … 3 severe).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment_at_least: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitGrade {
    pub code: String,
    pub name: String,
    /// A visit at least every this many days.
    pub every_days: u32,
}

impl Default for DispatchPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            broadcast_k: 5,
            offer_ttl_minutes: PerUrgency {
                emergency: 5,
                urgent: 15,
                normal: 60,
            },
            weights: ScoreWeights::default(),
        }
    }
}

impl Default for ScoreWeights {
    fn default() -> Self {
        Self {
            distance: 0.30,
            load: 0.15,
            continuity: 0.15,
            reliability: 0.15,
            rating: 0.15,
            fairness: 0.10,
        }
    }
}

impl Default for SlaPolicy {
    fn default() -> Self {
        PerUrgency {
            emergency: Sla {
                respond_minutes: 15,
                resolve_hours: 4,
            },
            urgent: Sla {
                respond_minutes: 60,
                resolve_hours: 24,
            },
            normal: Sla {
                respond_minutes: 240,
                resolve_hours: 72,
            },
        }
    }
}

impl Default for RatingPolicy {
    fn default() -> Self {
        Self {
            auto_close_days: 7,
            satisfied_from: 4,
        }
    }
}

impl Default for VisitPolicy {
    fn default() -> Self {
        let g = |code: &str, name: &str, every_days| VisitGrade {
            code: code.into(),
            name: name.into(),
            every_days,
        };
        let rule = |grade: &str, any: &[&str], all: &[&str], min_age, assessed| GradeRule {
            grade: grade.into(),
            any_categories: any.iter().map(|s| s.to_string()).collect(),
            all_categories: all.iter().map(|s| s.to_string()).collect(),
            min_age,
            assessment_at_least: assessed,
        };
        let alone = &["living_alone", "empty_nest"];
        Self {
            grades: vec![
                g("high", "高风险", 7),
                g("priority", "重点", 30),
                g("general", "一般", 90),
            ],
            // DESIGN §5: 80+ living alone or empty-nest, or a severe assessment (a
            // life-threatening illness), is high risk; disability, hardship and children in
            // difficulty are priority; any other care category is general.
            rules: vec![
                rule("high", alone, &["advanced_age"], None, None),
                rule("high", alone, &[], Some(80), None),
                rule("high", &[], &[], None, Some(3)),
                rule(
                    "priority",
                    &["disabled", "low_income", "child_in_difficulty"],
                    &[],
                    None,
                    None,
                ),
                rule("priority", &[], &[], None, Some(2)),
                rule(
                    "general",
                    &[
                        "living_alone",
                        "empty_nest",
                        "advanced_age",
                        "chronic_illness",
                    ],
                    &[],
                    None,
                    None,
                ),
                rule("general", &[], &[], Some(80), None),
            ],
            default_grade: None,
            horizon_days: 28,
            major_change_within_hours: 24,
            urgent_follow_up_hours: 24,
        }
    }
}

impl<T: Copy> PerUrgency<T> {
    pub fn for_urgency(&self, u: super::urgency::Urgency) -> T {
        use super::urgency::Urgency;
        match u {
            Urgency::Emergency => self.emergency,
            Urgency::Urgent => self.urgent,
            Urgency::Normal => self.normal,
        }
    }
}

impl CommunityPolicy {
    /// A stored policy as it is read: today's defaults for anything it does not say (and for a
    /// document this build cannot read).
    pub fn read(value: &serde_json::Value) -> Self {
        Self::parse(value.clone()).unwrap_or_default()
    }

    /// Parses a policy document; every out-of-range value is reported with its path.
    pub fn parse(value: serde_json::Value) -> Result<Self, Vec<FieldError>> {
        let policy: CommunityPolicy = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = format!("policy.{}", e.path());
            let path = path.trim_end_matches(".").to_string();
            vec![super::validation::serde_field_error(
                &path,
                &e.into_inner().to_string(),
            )]
        })?;
        let mut errors = Vec::new();
        let mut bad = |field: &str, code: &'static str| {
            errors.push(FieldError {
                field: format!("policy.{field}"),
                code,
            })
        };
        let d = &policy.dispatch;
        if !(1..=20).contains(&d.max_attempts) {
            bad("dispatch.max_attempts", "out_of_range");
        }
        if !(1..=100).contains(&d.broadcast_k) {
            bad("dispatch.broadcast_k", "out_of_range");
        }
        for (name, v) in [
            ("emergency", d.offer_ttl_minutes.emergency),
            ("urgent", d.offer_ttl_minutes.urgent),
            ("normal", d.offer_ttl_minutes.normal),
        ] {
            if !(1..=24 * 60).contains(&v) {
                bad(
                    &format!("dispatch.offer_ttl_minutes.{name}"),
                    "out_of_range",
                );
            }
        }
        let w = &d.weights;
        for (name, v) in [
            ("distance", w.distance),
            ("load", w.load),
            ("continuity", w.continuity),
            ("reliability", w.reliability),
            ("rating", w.rating),
            ("fairness", w.fairness),
        ] {
            if !(v.is_finite() && (0.0..=10.0).contains(&v)) {
                bad(&format!("dispatch.weights.{name}"), "out_of_range");
            }
        }
        for (name, s) in [
            ("emergency", policy.sla.emergency),
            ("urgent", policy.sla.urgent),
            ("normal", policy.sla.normal),
        ] {
            if !(1..=30 * 24 * 60).contains(&s.respond_minutes) {
                bad(&format!("sla.{name}.respond_minutes"), "out_of_range");
            }
            if !(1..=365 * 24).contains(&s.resolve_hours) {
                bad(&format!("sla.{name}.resolve_hours"), "out_of_range");
            }
        }
        if !(1..=90).contains(&policy.rating.auto_close_days) {
            bad("rating.auto_close_days", "out_of_range");
        }
        if !(1..=5).contains(&policy.rating.satisfied_from) {
            bad("rating.satisfied_from", "out_of_range");
        }
        if !(1..=99).contains(&policy.deadlines.remind_at_percent) {
            bad("deadlines.remind_at_percent", "out_of_range");
        }
        if !(1..=24 * 60).contains(&policy.hours.max_minutes_per_request) {
            bad("hours.max_minutes_per_request", "out_of_range");
        }
        if policy.hours.points_per_hour > 1_000 {
            bad("hours.points_per_hour", "out_of_range");
        }
        let grades = &policy.visit.grades;
        if grades.is_empty() || grades.len() > 10 {
            bad("visit.grades", "out_of_range");
        }
        for (i, g) in grades.iter().enumerate() {
            if super::code::Code::parse(&g.code).is_err() {
                bad(&format!("visit.grades[{i}].code"), "invalid_code");
            }
            if grades[..i].iter().any(|o| o.code == g.code) {
                bad(&format!("visit.grades[{i}].code"), "duplicate");
            }
            if super::text::Name::parse(&g.name).is_err() {
                bad(&format!("visit.grades[{i}].name"), "required");
            }
            if !(1..=366).contains(&g.every_days) {
                bad(&format!("visit.grades[{i}].every_days"), "out_of_range");
            }
        }
        let v = &policy.visit;
        if v.rules.len() > 50 {
            bad("visit.rules", "too_many");
        }
        for (i, r) in v.rules.iter().enumerate() {
            // With no valid grade list the rules cannot be judged; that list is reported.
            if !grades.is_empty() && !policy.has_grade(&r.grade) {
                bad(&format!("visit.rules[{i}].grade"), "unknown_grade");
            }
            for (name, cats) in [
                ("any_categories", &r.any_categories),
                ("all_categories", &r.all_categories),
            ] {
                if cats.len() > 10 || super::care::parse_categories(cats).is_err() {
                    bad(&format!("visit.rules[{i}].{name}"), "unknown_value");
                }
            }
            if r.min_age.is_some_and(|a| a > 150) {
                bad(&format!("visit.rules[{i}].min_age"), "out_of_range");
            }
            if r.assessment_at_least.is_some_and(|a| a > 3) {
                bad(
                    &format!("visit.rules[{i}].assessment_at_least"),
                    "out_of_range",
                );
            }
        }
        if !grades.is_empty()
            && v.default_grade
                .as_ref()
                .is_some_and(|g| !policy.has_grade(g))
        {
            bad("visit.default_grade", "unknown_grade");
        }
        if !(1..=90).contains(&v.horizon_days) {
            bad("visit.horizon_days", "out_of_range");
        }
        for (name, h) in [
            ("major_change_within_hours", v.major_change_within_hours),
            ("urgent_follow_up_hours", v.urgent_follow_up_hours),
        ] {
            if !(1..=7 * 24).contains(&h) {
                bad(&format!("visit.{name}"), "out_of_range");
            }
        }
        super::wechat_template::check(
            &policy.wechat,
            |k| super::audience::rule_for(k).is_some_and(|r| r.wechat),
            &mut bad,
        );
        if errors.is_empty() {
            Ok(policy)
        } else {
            Err(errors)
        }
    }

    pub fn has_grade(&self, code: &str) -> bool {
        self.visit.grades.iter().any(|g| g.code == code)
    }

    /// How often a grade is visited, in days.
    pub fn every_days(&self, grade: &str) -> Option<u32> {
        self.visit
            .grades
            .iter()
            .find(|g| g.code == grade)
            .map(|g| g.every_days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_document_is_the_default_policy() {
        assert_eq!(
            CommunityPolicy::parse(json!({})).unwrap(),
            CommunityPolicy::default()
        );
        let round = serde_json::to_value(CommunityPolicy::default()).unwrap();
        assert_eq!(
            CommunityPolicy::parse(round).unwrap(),
            CommunityPolicy::default()
        );
    }

    #[test]
    fn colour_codes_are_just_another_policy() {
        let grades = json!([
            {"code": "red", "name": "红", "every_days": 1},
            {"code": "yellow", "name": "黄", "every_days": 7},
            {"code": "green", "name": "绿", "every_days": 30}
        ]);
        let p = CommunityPolicy::parse(json!({"visit": {"grades": grades, "rules": [
            {"grade": "red", "assessment_at_least": 3},
            {"grade": "yellow", "any_categories": ["living_alone"]}
        ], "default_grade": "green"}}))
        .unwrap();
        assert!(p.has_grade("red"));
        assert!(!p.has_grade("high"));
        assert_eq!(p.every_days("yellow"), Some(7));
        // New grades with the default rules: the rules name grades that no longer exist.
        let errs = CommunityPolicy::parse(json!({"visit": {"grades": grades}})).unwrap_err();
        assert_eq!(errs[0].field, "policy.visit.rules[0].grade");
        assert_eq!(errs[0].code, "unknown_grade");
    }

    #[test]
    fn reports_each_bad_value_with_its_path() {
        let errs = CommunityPolicy::parse(json!({
            "dispatch": {"max_attempts": 0},
            "visit": {"grades": [{"code": "a", "name": "A", "every_days": 0}, {"code": "a", "name": "B", "every_days": 7}],
                      "rules": []}
        }))
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "policy.dispatch.max_attempts",
                "policy.visit.grades[0].every_days",
                "policy.visit.grades[1].code"
            ]
        );
        let unknown = CommunityPolicy::parse(json!({"dispatch": {"mode": "x"}})).unwrap_err();
        assert_eq!(unknown[0].code, "unknown_field");
        assert_eq!(unknown[0].field, "policy.dispatch.mode");
    }
}
