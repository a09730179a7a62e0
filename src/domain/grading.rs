//! Risk grading (分级): which grade a resident's care categories, age and the grid worker's
//! assessment give under a community's visit policy. Pure; the policy is data.

use chrono::{Datelike, NaiveDate};

use super::policy::{GradeRule, VisitPolicy};

/// The grid worker's assessment: each dimension 0 (no concern) to 3 (severe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    pub health: u8,
    pub social_support: u8,
    pub home_safety: u8,
}

impl Assessment {
    pub fn parse(health: i64, social_support: i64, home_safety: i64) -> Result<Self, &'static str> {
        let one = |v: i64| {
            u8::try_from(v)
                .ok()
                .filter(|v| *v <= 3)
                .ok_or("out_of_range")
        };
        Ok(Self {
            health: one(health)?,
            social_support: one(social_support)?,
            home_safety: one(home_safety)?,
        })
    }

    pub fn worst(&self) -> u8 {
        self.health.max(self.social_support).max(self.home_safety)
    }
}

/// What grading looks at.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub categories: &'a [&'a str],
    pub age: Option<u32>,
    pub assessment: Option<Assessment>,
}

/// Full years between a birth date and a day.
pub fn age_on(birth: NaiveDate, day: NaiveDate) -> u32 {
    let mut years = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

fn meets(rule: &GradeRule, f: &Facts) -> bool {
    let has = |c: &String| f.categories.contains(&c.as_str());
    (rule.any_categories.is_empty() || rule.any_categories.iter().any(has))
        && rule.all_categories.iter().all(has)
        && rule.min_age.is_none_or(|m| f.age.is_some_and(|a| a >= m))
        && rule
            .assessment_at_least
            .is_none_or(|m| f.assessment.is_some_and(|a| a.worst() >= m))
}

/// Position of a grade in the policy's list: 0 is the highest risk.
pub fn rank(policy: &VisitPolicy, grade: &str) -> Option<usize> {
    policy.grades.iter().position(|g| g.code == grade)
}

/// The highest grade of every rule the resident meets, else the policy's default.
pub fn grade_for(policy: &VisitPolicy, f: &Facts) -> Option<String> {
    policy
        .rules
        .iter()
        .filter(|r| meets(r, f))
        .filter_map(|r| rank(policy, &r.grade))
        .min()
        .map(|i| policy.grades[i].code.clone())
        .or_else(|| policy.default_grade.clone())
}

/// One step up the list after an urgent finding; an ungraded resident enters at the lowest.
pub fn raised(policy: &VisitPolicy, current: Option<&str>) -> Option<String> {
    let i = match current.and_then(|c| rank(policy, c)) {
        Some(i) => i.saturating_sub(1),
        None => policy.grades.len().checked_sub(1)?,
    };
    Some(policy.grades[i].code.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::CommunityPolicy;

    fn facts<'a>(categories: &'a [&'a str], age: Option<u32>, worst: Option<u8>) -> Facts<'a> {
        Facts {
            categories,
            age,
            assessment: worst.map(|w| Assessment {
                health: w,
                social_support: 0,
                home_safety: 0,
            }),
        }
    }

    #[test]
    fn default_policy_grades_as_design_section_5() {
        let p = CommunityPolicy::default().visit;
        let g = |c: &[&str], age, w| grade_for(&p, &facts(c, age, w));
        assert_eq!(
            g(&["advanced_age", "living_alone"], None, None).as_deref(),
            Some("high")
        );
        assert_eq!(g(&["empty_nest"], Some(84), None).as_deref(), Some("high"));
        assert_eq!(
            g(&["empty_nest"], Some(70), None).as_deref(),
            Some("general")
        );
        assert_eq!(g(&["disabled"], None, None).as_deref(), Some("priority"));
        assert_eq!(
            g(&["child_in_difficulty"], Some(9), None).as_deref(),
            Some("priority")
        );
        // A life-threatening illness, assessed as severe, is high risk whatever the categories.
        assert_eq!(g(&[], Some(50), Some(3)).as_deref(), Some("high"));
        assert_eq!(
            g(&["chronic_illness"], None, Some(1)).as_deref(),
            Some("general")
        );
        assert_eq!(g(&[], Some(40), None), None);
    }

    #[test]
    fn the_highest_matching_grade_wins_and_the_default_catches_the_rest() {
        let p = CommunityPolicy::parse(serde_json::json!({"visit": {
            "grades": [
                {"code": "red", "name": "红", "every_days": 1},
                {"code": "yellow", "name": "黄", "every_days": 7},
                {"code": "green", "name": "绿", "every_days": 30}],
            "rules": [
                {"grade": "yellow", "any_categories": ["living_alone"]},
                {"grade": "red", "any_categories": ["living_alone"], "assessment_at_least": 2}],
            "default_grade": "green"}}))
        .unwrap()
        .visit;
        let g = |c: &[&str], w| grade_for(&p, &facts(c, None, w));
        assert_eq!(g(&["living_alone"], Some(2)).as_deref(), Some("red"));
        assert_eq!(g(&["living_alone"], Some(1)).as_deref(), Some("yellow"));
        assert_eq!(g(&[], None).as_deref(), Some("green"));
    }

    #[test]
    fn urgent_findings_raise_one_step_and_stop_at_the_top() {
        let p = CommunityPolicy::default().visit;
        assert_eq!(raised(&p, Some("general")).as_deref(), Some("priority"));
        assert_eq!(raised(&p, Some("high")).as_deref(), Some("high"));
        assert_eq!(raised(&p, None).as_deref(), Some("general"));
        assert_eq!(raised(&p, Some("gone")).as_deref(), Some("general"));
    }

    #[test]
    fn assessments_and_ages_are_checked() {
        assert!(Assessment::parse(0, 3, 1).is_ok());
        assert_eq!(Assessment::parse(4, 0, 0), Err("out_of_range"));
        assert_eq!(Assessment::parse(0, -1, 0), Err("out_of_range"));
        let b = NaiveDate::from_ymd_opt(1946, 12, 1).unwrap();
        assert_eq!(
            age_on(b, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()),
            79
        );
        assert_eq!(age_on(b, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()), 80);
    }
}
