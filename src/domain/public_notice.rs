//! 三务公开 notices: their vocabulary, the lifecycle as one table, and the content a station
//! discloses (a finance notice's line items must add up to its total).
//!
//! Disclosure is never edited silently: once published, content changes only as a new version,
//! and every earlier version stays readable with its time.

use serde::{Deserialize, Serialize};

use super::string_enum;
use super::text::Text;
use super::validation::Fields;

string_enum!(Category {
    Party => "party",
    Affairs => "affairs",
    Finance => "finance",
});

string_enum!(Status {
    Draft => "draft",
    Published => "published",
    Unpublished => "unpublished",
});

string_enum!(Action {
    Publish => "publish",
    Correct => "correct",
    Unpublish => "unpublish",
});

use Action as A;
use Status as S;

/// The lifecycle: from which states each action may be taken, and where it leads. A draft is
/// edited in place (nobody has read it); a published notice only corrected.
const TRANSITIONS: &[(Action, &[Status], Status)] = &[
    (A::Publish, &[S::Draft], S::Published),
    (A::Correct, &[S::Published], S::Published),
    (A::Unpublish, &[S::Published], S::Unpublished),
];

/// Where `action` leads from `from`, or the stable code of the refusal.
pub fn next(from: Status, action: Action) -> Result<Status, &'static str> {
    TRANSITIONS
        .iter()
        .find(|(a, froms, _)| *a == action && froms.contains(&from))
        .map(|(_, _, to)| *to)
        .ok_or("invalid_transition")
}

pub type Title = Text<120>;
/// Plain text; paragraphs are separated by blank lines.
pub type Body = Text<20_000>;
pub type ItemName = Text<100>;

/// At most this many line items, and amounts within ± this many fen (a hundred million yuan).
pub const MAX_ITEMS: usize = 200;
pub const MAX_AMOUNT_FEN: i64 = 10_000_000_000;

/// One line of a finance notice: income positive, spending negative, in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub item: String,
    pub amount_fen: i64,
}

/// What a version says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub title: Title,
    pub body: Body,
    /// A finance notice's line items and their total; `None` for the other categories.
    pub items: Option<(Vec<LineItem>, i64)>,
}

/// The unchecked content of a request.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ContentInput {
    pub title: Option<String>,
    pub body: Option<String>,
    pub items: Option<Vec<ItemInput>>,
    pub total_fen: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    pub item: Option<String>,
    pub amount_fen: Option<i64>,
}

impl Content {
    /// Checks every field, pushing each fault into `errors`: a finance notice needs items whose
    /// amounts add up to `total_fen` (`total_mismatch`); the other categories carry none.
    pub fn parse(category: Category, i: &ContentInput, errors: &mut Fields) -> Option<Self> {
        let title = errors.check("title", req(&i.title).and_then(Title::parse));
        let body = errors.check("body", req(&i.body).and_then(Body::parse));
        let items = match category {
            Category::Finance => parse_items(i, errors),
            _ => {
                if i.items.is_some() {
                    errors.push("items", "not_finance");
                }
                if i.total_fen.is_some() {
                    errors.push("total_fen", "not_finance");
                }
                Some(None)
            }
        };
        Some(Self {
            title: title?,
            body: body?,
            items: items?,
        })
    }
}

fn req(s: &Option<String>) -> Result<&str, &'static str> {
    s.as_deref().ok_or("required")
}

fn parse_items(i: &ContentInput, errors: &mut Fields) -> Option<Option<(Vec<LineItem>, i64)>> {
    let Some(raw) = &i.items else {
        errors.push("items", "required");
        return None;
    };
    if raw.is_empty() {
        errors.push("items", "required");
    } else if raw.len() > MAX_ITEMS {
        errors.push("items", "too_many");
    }
    let mut items = Vec::with_capacity(raw.len());
    for (n, it) in raw.iter().enumerate().take(MAX_ITEMS) {
        let name = errors.check(
            &format!("items[{n}].item"),
            req(&it.item).and_then(ItemName::parse),
        );
        let amount = errors.check(
            &format!("items[{n}].amount_fen"),
            it.amount_fen
                .ok_or("required")
                .and_then(|a| match a.abs() <= MAX_AMOUNT_FEN {
                    true => Ok(a),
                    false => Err("out_of_range"),
                }),
        );
        if let (Some(item), Some(amount_fen)) = (name, amount) {
            items.push(LineItem {
                item: item.into_inner(),
                amount_fen,
            });
        }
    }
    let total = match i.total_fen {
        None => {
            errors.push("total_fen", "required");
            None
        }
        Some(t) if items.len() == raw.len() => {
            let sum: i64 = items.iter().map(|x| x.amount_fen).sum();
            if sum != t {
                errors.push("total_fen", "total_mismatch");
            }
            Some(t)
        }
        Some(t) => Some(t),
    };
    if !errors.is_empty() {
        return None;
    }
    Some(Some((items, total?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finance(items: serde_json::Value, total: i64) -> Result<Content, Vec<(String, String)>> {
        let i = ContentInput {
            title: Some("2026年第三季度收支".into()),
            body: Some("收支如下。".into()),
            items: serde_json::from_value(items).unwrap(),
            total_fen: Some(total),
        };
        let mut e = Fields::new();
        let c = Content::parse(Category::Finance, &i, &mut e);
        match e.is_empty() {
            true => Ok(c.unwrap()),
            false => Err(e
                .into_errors()
                .into_iter()
                .map(|f| (f.field, f.code.to_string()))
                .collect()),
        }
    }

    #[test]
    fn a_finance_notice_adds_up_or_is_refused() {
        let items = serde_json::json!([
            {"item": "上级拨款", "amount_fen": 500000},
            {"item": "活动物资", "amount_fen": -123456},
        ]);
        let c = finance(items.clone(), 376544).unwrap();
        assert_eq!(c.items.unwrap().1, 376544);
        assert_eq!(
            finance(items, 376545).unwrap_err(),
            [("total_fen".to_string(), "total_mismatch".to_string())]
        );
        let bad = serde_json::json!([{"item": "", "amount_fen": 1}, {"item": "x"}]);
        let e = finance(bad, 1).unwrap_err();
        assert!(
            e.contains(&("items[0].item".into(), "required".into())),
            "{e:?}"
        );
        assert!(
            e.contains(&("items[1].amount_fen".into(), "required".into())),
            "{e:?}"
        );
        assert_eq!(
            finance(serde_json::json!([]), 0).unwrap_err(),
            [("items".to_string(), "required".to_string())]
        );
    }

    #[test]
    fn other_categories_carry_no_items() {
        let i = ContentInput {
            title: Some("居务公开".into()),
            body: Some("第一段。\n\n第二段。".into()),
            items: Some(vec![]),
            total_fen: None,
        };
        let mut e = Fields::new();
        Content::parse(Category::Affairs, &i, &mut e);
        assert_eq!(e.into_errors()[0].code, "not_finance");
    }

    #[test]
    fn a_published_notice_is_corrected_never_edited_back_to_draft() {
        assert_eq!(next(S::Draft, A::Publish), Ok(S::Published));
        assert_eq!(next(S::Published, A::Correct), Ok(S::Published));
        assert_eq!(next(S::Published, A::Unpublish), Ok(S::Unpublished));
        assert!(next(S::Draft, A::Correct).is_err());
        assert!(next(S::Unpublished, A::Publish).is_err());
        assert!(next(S::Unpublished, A::Correct).is_err());
    }
}
