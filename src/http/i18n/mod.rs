//! Problem titles and field messages in Chinese and English, chosen by `Accept-Language`.

use actix_web::http::header::HeaderMap;

pub use crate::domain::lang::Lang;

impl Lang {
    /// The best of `zh` and `en` by the header's q-values; Chinese when nothing is said,
    /// since the station's users read Chinese.
    pub fn from_headers(h: &HeaderMap) -> Self {
        let Some(v) = h.get("accept-language").and_then(|v| v.to_str().ok()) else {
            return Lang::Zh;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in v.split(',') {
            let mut it = part.trim().split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag.starts_with("zh") {
                Lang::Zh
            } else if tag.starts_with("en") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, l)| l)
    }

    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

mod texts;
use texts::TEXTS;

pub fn text(code: &str, lang: Lang) -> &'static str {
    TEXTS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, en, zh)| if lang == Lang::Zh { *zh } else { *en })
        .unwrap_or(match lang {
            Lang::Zh => "请求无效。",
            Lang::En => "The request is invalid.",
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn lang(v: &str) -> Lang {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("accept-language"),
            HeaderValue::from_str(v).unwrap(),
        );
        Lang::from_headers(&h)
    }

    #[test]
    fn picks_the_preferred_of_chinese_and_english() {
        assert_eq!(lang("en-US,en;q=0.9"), Lang::En);
        assert_eq!(lang("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(lang("fr, en;q=0.5, zh;q=0.7"), Lang::Zh);
        assert_eq!(lang("fr"), Lang::Zh);
        assert_eq!(Lang::from_headers(&HeaderMap::new()), Lang::Zh);
    }

    #[test]
    fn every_code_has_both_languages() {
        for (code, en, zh) in TEXTS {
            assert!(!en.is_empty() && !zh.is_empty(), "{code}");
        }
        assert_eq!(text("not_found", Lang::En), "Not found.");
        assert_eq!(text("not_found", Lang::Zh), "未找到。");
    }
}
