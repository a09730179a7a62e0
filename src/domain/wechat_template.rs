//! WeChat subscription-message templates (订阅消息) in a community's policy: which event kinds
//! are sent, with which template, to which mini-program page, and what fills each of the
//! template's fields. WeChat refuses a value longer than its field kind allows (`thing` 20
//! characters, `phrase` 5, …), so values are cut to the limit when a message is composed, never
//! refused then.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::string_enum;

string_enum! {
    /// WeChat's kinds of template value (订阅消息参数值内容限制).
    ValueKind {
        Thing => "thing",
        Phrase => "phrase",
        CharacterString => "character_string",
        Time => "time",
        Date => "date",
        Number => "number",
        Name => "name",
        PhoneNumber => "phone_number",
        Letter => "letter",
        Symbol => "symbol",
        Amount => "amount",
    }
}

string_enum! {
    /// What fills a field: the help request's `service` (服务项目), the event kind's `title` (the
    /// inbox's, in Chinese), the `event_time`, a reminder's `deadline`, a visit's
    /// `window_start`, the `reason` given (a major change's), or the template's own `text`.
    FieldSource {
        Service => "service",
        Title => "title",
        EventTime => "event_time",
        Deadline => "deadline",
        WindowStart => "window_start",
        Reason => "reason",
        Text => "text",
    }
}

impl ValueKind {
    /// The most characters WeChat takes; `None` where the value's form bounds it.
    pub fn max_chars(self) -> Option<usize> {
        match self {
            ValueKind::Thing => Some(20),
            ValueKind::Phrase | ValueKind::Symbol => Some(5),
            ValueKind::CharacterString | ValueKind::Number | ValueKind::Letter => Some(32),
            ValueKind::Name => Some(10),
            ValueKind::PhoneNumber => Some(17),
            ValueKind::Time | ValueKind::Date | ValueKind::Amount => None,
        }
    }

    /// Whether `source` can give a value WeChat accepts for this kind: times only for `time`
    /// and `date`, words only for the word kinds, and the digit-and-letter kinds only from the
    /// template's own text.
    pub fn accepts(self, source: FieldSource) -> bool {
        use FieldSource::*;
        match self {
            ValueKind::Time | ValueKind::Date => {
                matches!(source, EventTime | Deadline | WindowStart)
            }
            ValueKind::Thing | ValueKind::Phrase | ValueKind::Name => {
                matches!(source, Service | Title | Reason | Text)
            }
            _ => source == Text,
        }
    }
}

/// `policy.wechat`: templates by event kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WechatPolicy {
    /// Keyed by event kind (an outbox topic whose audience rule has `wechat`).
    pub templates: BTreeMap<String, WechatTemplate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatTemplate {
    /// The template's id in the mini-program's subscription templates.
    pub template_id: String,
    /// The mini-program page the message opens; `{object_id}` is replaced by the object's id.
    #[serde(default)]
    pub page: String,
    /// Keyed by the template's field key (`thing1`, `time2`, …).
    pub fields: BTreeMap<String, TemplateField>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateField {
    pub kind: ValueKind,
    pub from: FieldSource,
    /// With `from: text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

pub const MAX_PAGE_CHARS: usize = 256;
pub const MAX_TEMPLATE_ID_CHARS: usize = 64;
pub const MAX_FIELDS: usize = 10;
pub const MAX_TEXT_CHARS: usize = 64;
const OBJECT_ID: &str = "{object_id}";

/// Reports every problem of `w` as (path under `policy.`, code); `is_wechat_kind` says which
/// event kinds may be sent.
pub fn check(
    w: &WechatPolicy,
    is_wechat_kind: impl Fn(&str) -> bool,
    bad: &mut impl FnMut(&str, &'static str),
) {
    for (kind, t) in &w.templates {
        let at = format!("wechat.templates.{kind}");
        if !is_wechat_kind(kind) {
            bad(&at, "unknown_value");
            continue;
        }
        let id = &t.template_id;
        if id.is_empty() {
            bad(&format!("{at}.template_id"), "required");
        } else if id.chars().count() > MAX_TEMPLATE_ID_CHARS {
            bad(&format!("{at}.template_id"), "too_long");
        } else if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bad(&format!("{at}.template_id"), "invalid_value");
        }
        if t.page.chars().count() > MAX_PAGE_CHARS {
            bad(&format!("{at}.page"), "too_long");
        } else if t.page.replace(OBJECT_ID, "").contains(['{', '}'])
            || t.page.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            bad(&format!("{at}.page"), "invalid_value");
        }
        if t.fields.is_empty() {
            bad(&format!("{at}.fields"), "required");
        } else if t.fields.len() > MAX_FIELDS {
            bad(&format!("{at}.fields"), "too_many");
        }
        for (key, f) in &t.fields {
            let at = format!("{at}.fields.{key}");
            let key_ok = key.len() <= 32
                && key.starts_with(|c: char| c.is_ascii_lowercase())
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !key_ok {
                bad(&at, "invalid_code");
            }
            if !f.kind.accepts(f.from) {
                bad(&format!("{at}.from"), "incompatible_source");
            }
            match (&f.text, f.from) {
                (None, FieldSource::Text) => bad(&format!("{at}.text"), "required"),
                (Some(t), FieldSource::Text) if t.trim().is_empty() => {
                    bad(&format!("{at}.text"), "required")
                }
                (Some(t), FieldSource::Text) if t.chars().count() > MAX_TEXT_CHARS => {
                    bad(&format!("{at}.text"), "too_long")
                }
                (Some(_), s) if s != FieldSource::Text => bad(&format!("{at}.text"), "not_allowed"),
                _ => {}
            }
        }
    }
}

/// What a message is composed from.
pub struct Facts<'a> {
    pub object_id: Uuid,
    /// The inbox's parameters of the event (`service`, `deadline`, `window_start`, `reason`).
    pub params: &'a Value,
    pub title: &'a str,
    pub event_time: DateTime<Utc>,
    /// Times are written in the community's time zone.
    pub tz: Tz,
}

/// The page and the `data` WeChat takes (`{"thing1": {"value": "…"}, …}`), each value cut to
/// its kind's limit.
pub fn compose(t: &WechatTemplate, f: &Facts) -> (String, Value) {
    let page = t.page.replace(OBJECT_ID, &f.object_id.to_string());
    let mut data = Map::new();
    for (key, field) in &t.fields {
        data.insert(key.clone(), json!({ "value": value(field, f) }));
    }
    (page, Value::Object(data))
}

fn value(field: &TemplateField, f: &Facts) -> String {
    let text = |k: &str| f.params[k].as_str().map(str::to_string);
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| {
            let local = t.with_timezone(&f.tz);
            match field.kind {
                ValueKind::Date => local.format("%Y年%m月%d日").to_string(),
                _ => local.format("%Y年%m月%d日 %H:%M").to_string(),
            }
        })
    };
    let param_time = |k: &str| {
        f.params[k]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let raw = match field.from {
        FieldSource::Service => text("service"),
        FieldSource::Title => Some(f.title.to_string()),
        FieldSource::Reason => text("reason"),
        FieldSource::Text => field.text.clone(),
        FieldSource::EventTime => time(Some(f.event_time)),
        FieldSource::Deadline => time(param_time("deadline")),
        FieldSource::WindowStart => time(param_time("window_start")),
    };
    let raw = raw.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| {
        // WeChat refuses an empty value; words kinds take only words.
        match field.kind {
            ValueKind::Thing | ValueKind::Phrase | ValueKind::Name => "无".into(),
            _ => "-".into(),
        }
    });
    truncate(raw.trim(), field.kind)
}

/// `s` cut to the kind's limit, in characters (WeChat counts characters, not bytes).
pub fn truncate(s: &str, kind: ValueKind) -> String {
    match kind.max_chars() {
        Some(n) => s.chars().take(n).collect(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(fields: Value) -> WechatTemplate {
        serde_json::from_value(
            json!({"template_id": "T-1_a", "page": "pages/r?id={object_id}", "fields": fields}),
        )
        .unwrap()
    }

    fn problems(w: &WechatPolicy) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        check(w, |k| k == "help_request.accepted", &mut |p, c| {
            out.push((p.to_string(), c))
        });
        out
    }

    #[test]
    fn every_kind_has_its_limit_and_values_are_cut_by_characters() {
        assert_eq!(truncate("一二三四五六七", ValueKind::Phrase), "一二三四五");
        assert_eq!(
            truncate(&"字".repeat(30), ValueKind::Thing).chars().count(),
            20
        );
        assert_eq!(truncate(&"1".repeat(40), ValueKind::Number).len(), 32);
        assert_eq!(
            truncate("13800138000-12345678", ValueKind::PhoneNumber).len(),
            17
        );
        assert_eq!(truncate(&"a".repeat(40), ValueKind::Time).len(), 40);
        for k in ValueKind::ALL {
            assert_eq!(ValueKind::parse(k.as_str()), Ok(*k));
        }
    }

    #[test]
    fn composes_each_field_from_its_source_in_the_community_time_zone() {
        let t = template(json!({
            "thing1": {"kind": "thing", "from": "service"},
            "phrase2": {"kind": "phrase", "from": "text", "text": "已经有人接单了"},
            "time3": {"kind": "time", "from": "event_time"},
            "date4": {"kind": "date", "from": "deadline"},
            "thing5": {"kind": "thing", "from": "reason"}
        }));
        let id = Uuid::now_v7();
        let at = DateTime::parse_from_rfc3339("2026-12-01T06:30:00Z")
            .unwrap()
            .to_utc();
        let params = json!({"service": "代购".repeat(15), "deadline": "2026-12-02T16:00:00Z"});
        let (page, data) = compose(
            &t,
            &Facts {
                object_id: id,
                params: &params,
                title: "新的派单",
                event_time: at,
                tz: chrono_tz::Asia::Shanghai,
            },
        );
        assert_eq!(page, format!("pages/r?id={id}"));
        assert_eq!(
            data["thing1"]["value"].as_str().unwrap().chars().count(),
            20
        );
        assert_eq!(data["phrase2"]["value"], "已经有人接");
        assert_eq!(data["time3"]["value"], "2026年12月01日 14:30");
        assert_eq!(data["date4"]["value"], "2026年12月03日");
        assert_eq!(
            data["thing5"]["value"], "无",
            "missing facts are never empty"
        );
    }

    #[test]
    fn reports_unknown_kinds_bad_ids_pages_and_sources() {
        let mut w = WechatPolicy::default();
        w.templates.insert(
            "help_request.accepted".into(),
            template(json!({"thing1": {"kind": "thing", "from": "service"}})),
        );
        assert!(problems(&w).is_empty());

        let mut t = template(json!({
            "time1": {"kind": "time", "from": "service"},
            "Bad": {"kind": "thing", "from": "text"},
            "thing3": {"kind": "thing", "from": "service", "text": "x"}
        }));
        t.template_id = "a b".into();
        t.page = format!("p?{}", "x".repeat(MAX_PAGE_CHARS));
        w.templates
            .insert("help_request.accepted".into(), t.clone());
        w.templates.insert("help_request.escalated".into(), t);
        let got = problems(&w);
        let p = "wechat.templates.help_request.accepted";
        assert_eq!(
            got,
            [
                (format!("{p}.template_id"), "invalid_value"),
                (format!("{p}.page"), "too_long"),
                (format!("{p}.fields.Bad"), "invalid_code"),
                (format!("{p}.fields.Bad.text"), "required"),
                (format!("{p}.fields.thing3.text"), "not_allowed"),
                (format!("{p}.fields.time1.from"), "incompatible_source"),
                (
                    "wechat.templates.help_request.escalated".to_string(),
                    "unknown_value"
                ),
            ]
        );
    }
}
