//! Bounded, trimmed text.

use serde::Serialize;

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
        if t.chars().any(|c| c.is_control() && c != '\n') {
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
}
