//! Bounded, trimmed text, and the one rule on control characters for every text the API takes.

use serde::Serialize;

/// Control characters (Unicode `Cc`: U+0000–U+001F, U+007F–U+009F) are refused in every text a
/// request carries, keys included, but tab, line feed and carriage return: notes and descriptions
/// are typed with line breaks (CRLF from Windows clients) and pasted with tabs. NUL in particular
/// cannot be stored in a PostgreSQL `text` and ends a C string in SQLite.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Whether `s` holds a control character the API refuses (see [`is_forbidden_control`]).
pub fn has_forbidden_control(s: &str) -> bool {
    s.chars().any(is_forbidden_control)
}

/// Trimmed text of 1..=MAX characters (characters, not bytes: names are Chinese).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    pub fn parse(s: impl AsRef<str>) -> Result<Self, &'static str> {
        let t = s.as_ref().trim();
        if t.is_empty() {
            return Err("required");
        }
        if t.chars().count() > MAX {
            return Err("too_long");
        }
        if has_forbidden_control(t) {
            return Err("invalid_characters");
        }
        Ok(Self(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A person's or a place's name.
pub type Name = Text<64>;
/// A free-text description or note.
pub type Description = Text<2000>;
/// A short label (building, unit, room, relation).
pub type Label = Text<32>;
/// An address line.
pub type AddressLine = Text<200>;

/// The text a search (`q`) matches: the parts lowercased by Unicode's rules in Rust, so that
/// `émile` finds "ÉMILE" on SQLite too (whose `lower()` and `LIKE` fold ASCII only) and on a
/// PostgreSQL of any locale. Parts are joined by a line break, which no query may contain.
pub fn search_key<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    parts
        .into_iter()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds_by_characters() {
        assert_eq!(Name::parse("  孙大娘 ").unwrap().as_str(), "孙大娘");
        assert_eq!(Name::parse("   "), Err("required"));
        assert!(Text::<3>::parse("电力社").is_ok());
        assert_eq!(Text::<3>::parse("电力社区"), Err("too_long"));
        assert_eq!(Name::parse("a\u{0}b"), Err("invalid_characters"));
    }

    #[test]
    fn search_keys_fold_every_script_and_keep_parts_apart() {
        assert_eq!(search_key(["ÉMILE Zola", "Straße"]), "émile zola\nstraße");
        assert_eq!(search_key(["王大爷", ""]), "王大爷\n");
    }

    #[test]
    fn only_tab_and_line_breaks_among_the_controls() {
        for ok in ["a\tb", "a\nb", "a\r\nb", "孙大娘", "a b", "\u{a0}é\u{200b}"] {
            assert!(!has_forbidden_control(ok), "{ok:?}");
        }
        for bad in [
            "\u{0}",
            "a\u{1}",
            "\u{8}",
            "\u{b}",
            "\u{c}",
            "\u{1b}[31m",
            "\u{7f}",
            "\u{85}",
            "\u{9f}",
        ] {
            assert!(has_forbidden_control(bad), "{bad:?}");
            assert_eq!(
                Description::parse(format!("x{bad}y")),
                Err("invalid_characters")
            );
        }
        assert_eq!(
            Description::parse(" 腿脚不便\r\n\t冰箱空了 ")
                .unwrap()
                .as_str(),
            "腿脚不便\r\n\t冰箱空了"
        );
    }
}
