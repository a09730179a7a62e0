//! Residents' care categories (分类) and gender.

use super::string_enum;

string_enum!(
    /// 独居, 空巢, 高龄, 失能/残疾, 低保, 慢病, 留守/困境儿童.
    CareCategory {
        LivingAlone => "living_alone",
        EmptyNest => "empty_nest",
        AdvancedAge => "advanced_age",
        Disabled => "disabled",
        LowIncome => "low_income",
        ChronicIllness => "chronic_illness",
        ChildInDifficulty => "child_in_difficulty",
    }
);

string_enum!(Gender {
    Male => "male",
    Female => "female",
});

/// Sorted, unique categories.
pub fn parse_categories(items: &[String]) -> Result<Vec<CareCategory>, &'static str> {
    let mut out = items
        .iter()
        .map(|s| CareCategory::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|c| c.as_str());
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_parse_sorted_and_unique() {
        let c = parse_categories(&[
            "living_alone".into(),
            "advanced_age".into(),
            "living_alone".into(),
        ])
        .unwrap();
        assert_eq!(
            c,
            vec![CareCategory::AdvancedAge, CareCategory::LivingAlone]
        );
        assert_eq!(parse_categories(&["lonely".into()]), Err("unknown_value"));
    }
}
