//! Machine codes: community codes, service-type codes, skills.

use serde::Serialize;

/// Lowercase ASCII letters, digits, `_` and `-`; 1..=32 characters, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Code(String);

impl Code {
    pub fn parse(s: impl AsRef<str>) -> Result<Self, &'static str> {
        let s = s.as_ref().trim();
        if s.is_empty() {
            return Err("required");
        }
        if s.len() > 32 {
            return Err("too_long");
        }
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        if !first_ok
            || !s
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            return Err("invalid_code");
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A set of codes (skills, required skills): sorted, no duplicates, at most `max`.
pub fn parse_code_set(items: &[String], max: usize) -> Result<Vec<Code>, &'static str> {
    if items.len() > max {
        return Err("too_many");
    }
    let mut out = items
        .iter()
        .map(Code::parse)
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs_only() {
        assert!(Code::parse("dianli").is_ok());
        assert!(Code::parse("smartphone_help-2").is_ok());
        assert_eq!(Code::parse("Dianli"), Err("invalid_code"));
        assert_eq!(Code::parse("1abc"), Err("invalid_code"));
        assert_eq!(Code::parse("电力"), Err("invalid_code"));
        assert_eq!(Code::parse(""), Err("required"));
        assert_eq!(Code::parse("a".repeat(33)), Err("too_long"));
    }

    #[test]
    fn code_sets_are_sorted_and_unique() {
        let set = parse_code_set(&["b".into(), "a".into(), "b".into()], 5).unwrap();
        assert_eq!(set.iter().map(Code::as_str).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            parse_code_set(&vec!["a".to_string(); 6], 5),
            Err("too_many")
        );
    }
}
