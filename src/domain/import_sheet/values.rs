//! Cell values written the way people write them (男/女, 2024/3/5, 独居、高龄, 陪诊、维修, 是/否,
//! 在岗) put into the form the registry's validation takes; anything unknown is kept as written
//! for that validation to refuse.

use chrono::NaiveDate;

/// 男/女 (and male/female, M/F) as the registry's gender codes; anything else as written.
pub fn gender(s: &str) -> String {
    match s.trim().to_lowercase().as_str() {
        "男" | "男性" | "m" | "male" => "male".into(),
        "女" | "女性" | "f" | "female" => "female".into(),
        other => other.to_string(),
    }
}

/// Care categories as the template's drop-down names them, with their codes.
pub const CARE_CATEGORY_NAMES: &[(&str, &str)] = &[
    ("独居", "living_alone"),
    ("空巢", "empty_nest"),
    ("高龄", "advanced_age"),
    ("失能/残疾", "disabled"),
    ("低保", "low_income"),
    ("慢病", "chronic_illness"),
    ("留守/困境儿童", "child_in_difficulty"),
];

/// The gender names of the template's drop-down.
pub const GENDER_NAMES: &[&str] = &["男", "女"];

fn category_code(name: &str) -> String {
    let code = match name {
        "独居" | "独居老人" => "living_alone",
        "空巢" | "空巢老人" => "empty_nest",
        "高龄" | "高龄老人" => "advanced_age",
        "失能" | "残疾" | "失能/残疾" | "失能残疾" | "残疾人" => "disabled",
        "低保" | "低保户" => "low_income",
        "慢病" | "慢性病" => "chronic_illness",
        "留守儿童" | "困境儿童" | "留守/困境儿童" | "留守" | "困境" => {
            "child_in_difficulty"
        }
        other => return other.to_string(),
    };
    code.to_string()
}

/// A list in one cell, split on the separators people use (`，` `、` `;` …).
pub fn list(s: &str) -> Vec<String> {
    s.split([',', '，', '、', ';', '；', '\n', '|'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Care categories in Chinese (独居、高龄) or as codes, as codes; unknown names stay as
/// written for the registry to refuse.
pub fn care_categories(s: &str) -> Vec<String> {
    list(s).iter().map(|t| category_code(t)).collect()
}

/// A date written `2024-03-05`, `2024/3/5`, `2024.3.5`, `20240305` or `2024年3月5日` as
/// `YYYY-MM-DD`; anything else as written, for the registry to refuse.
pub fn date(s: &str) -> String {
    let t = s.trim();
    let parsed = if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        NaiveDate::parse_from_str(t, "%Y%m%d").ok()
    } else {
        let parts: Vec<&str> = t
            .trim_end_matches('日')
            .split(['-', '/', '.', '年', '月'])
            .collect();
        match parts.as_slice() {
            [y, m, d] if y.len() == 4 => match (y.parse(), m.parse(), d.parse()) {
                (Ok(y), Ok(m), Ok(d)) => NaiveDate::from_ymd_opt(y, m, d),
                _ => None,
            },
            _ => None,
        }
    };
    parsed.map_or_else(|| t.to_string(), |d| d.to_string())
}

/// 是/否 (and yes/no, Y/N, 1/0, true/false); in a 党员 column also what 政治面貌 says.
pub fn yes_no(s: &str) -> Result<bool, &'static str> {
    match s.trim().to_lowercase().as_str() {
        "是" | "y" | "yes" | "true" | "1" | "党员" | "中共党员" | "预备党员" | "中共预备党员" => {
            Ok(true)
        }
        "否" | "n" | "no" | "false" | "0" | "群众" | "团员" | "共青团员" | "无" => {
            Ok(false)
        }
        _ => Err("invalid_value"),
    }
}

/// The yes/no names of the template's drop-down.
pub const YES_NO_NAMES: &[&str] = &["是", "否"];

/// Skills as the template's drop-down names them, with their codes.
pub const SKILL_NAMES: &[(&str, &str)] = &[
    ("智能手机", "smartphone"),
    ("助餐", "cooking"),
    ("陪诊", "escort"),
    ("保洁", "cleaning"),
    ("维修", "repairs"),
    ("代办", "errands"),
    ("陪伴", "companionship"),
    ("托管", "childcare"),
    ("调解", "mediation"),
    ("急救", "first_aid"),
];

fn skill_code(name: &str) -> Option<&'static str> {
    let code = match name {
        "智能手机" | "手机" | "智能手机帮办" => "smartphone",
        "助餐" | "做饭" | "烹饪" => "cooking",
        "陪诊" | "助医" | "助医陪诊" | "陪同就医" => "escort",
        "保洁" | "助洁" | "打扫" => "cleaning",
        "维修" | "家电维修" | "修理" => "repairs",
        "代办" | "代购" | "代购代办" | "跑腿" => "errands",
        "陪伴" | "聊天" | "精神慰藉" => "companionship",
        "托管" | "课后托管" | "看护儿童" => "childcare",
        "调解" | "邻里调解" => "mediation",
        "急救" | "紧急救助" => "first_aid",
        _ => return None,
    };
    Some(code)
}

/// Skills in Chinese (陪诊、维修) or as codes, as codes; a name that is neither is `Err` with
/// the name, for the import to refuse.
pub fn skills(s: &str) -> Result<Vec<String>, String> {
    list(s)
        .into_iter()
        .map(|t| match skill_code(&t) {
            Some(code) => Ok(code.to_string()),
            None if crate::domain::code::Code::parse(&t).is_ok() => Ok(t),
            None => Err(t),
        })
        .collect()
}

/// A volunteer's status as the template's drop-down names it, with its code.
pub const VOLUNTEER_STATUS_NAMES: &[(&str, &str)] =
    &[("在岗", "active"), ("暂停", "paused"), ("退出", "retired")];

/// 在岗/暂停/退出 (and their everyday synonyms) as status codes; anything else as written, for
/// the registry to refuse.
pub fn volunteer_status(s: &str) -> String {
    let t = s.trim();
    let code = match t {
        "在岗" | "正常" | "活跃" | "在册" => "active",
        "暂停" | "请假" | "暂停服务" => "paused",
        "退出" | "离队" | "注销" => "retired",
        other => return other.to_lowercase(),
    };
    code.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_values_the_way_the_registry_takes_them() {
        assert_eq!(gender("男"), "male");
        assert_eq!(gender("F"), "female");
        assert_eq!(gender("未知"), "未知");
        assert_eq!(
            care_categories("独居、高龄,low_income；失能/残疾"),
            vec!["living_alone", "advanced_age", "low_income", "disabled"]
        );
        assert_eq!(care_categories("孤寡"), vec!["孤寡"]);
        for s in [
            "1950-03-05",
            "1950/3/5",
            "1950.03.05",
            "19500305",
            "1950年3月5日",
        ] {
            assert_eq!(date(s), "1950-03-05", "{s}");
        }
        assert_eq!(date("1950-02-30"), "1950-02-30");
        assert_eq!(yes_no("是"), Ok(true));
        assert_eq!(yes_no("否"), Ok(false));
        assert_eq!(yes_no("也许"), Err("invalid_value"));
        assert_eq!(yes_no("中共党员"), Ok(true));
        assert_eq!(yes_no("群众"), Ok(false));
    }

    #[test]
    fn skills_are_read_in_chinese_or_as_codes_and_unknown_names_are_named() {
        assert_eq!(
            skills("陪诊、维修,first_aid"),
            Ok(vec!["escort".into(), "repairs".into(), "first_aid".into()])
        );
        assert_eq!(skills("陪诊、会飞"), Err("会飞".to_string()));
        assert_eq!(volunteer_status("暂停"), "paused");
        assert_eq!(volunteer_status("Active"), "active");
        assert_eq!(volunteer_status("随便"), "随便");
    }
}
