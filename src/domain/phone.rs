//! Chinese phone numbers: mainland mobiles and landlines with an area code.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Accepts `13812345678`, `+86 138 1234 5678`, `0351-1234567`, `(0351) 1234567`.
    /// Stores mobiles as 11 digits and landlines as `area-number`.
    pub fn parse(s: impl AsRef<str>) -> Result<Self, &'static str> {
        let raw = s.as_ref().trim();
        if raw.len() > 32 {
            return Err("invalid_phone");
        }
        let mut digits = String::with_capacity(16);
        for c in raw.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' => {}
                '+' if digits.is_empty() => {}
                _ => return Err("invalid_phone"),
            }
        }
        let digits = digits
            .strip_prefix("0086")
            .or_else(|| digits.strip_prefix("86").filter(|d| d.len() == 11))
            .unwrap_or(&digits);
        let b = digits.as_bytes();
        if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
            return Ok(Self(digits.to_string()));
        }
        // Landline: 0 + area code (2 or 3 more digits) + 7 or 8 digit number.
        if b.first() == Some(&b'0') {
            let area_len = if matches!(b.get(1), Some(b'1') | Some(b'2')) {
                3
            } else {
                4
            };
            let rest = b.len().saturating_sub(area_len);
            if b.len() > area_len && (7..=8).contains(&rest) {
                return Ok(Self(format!(
                    "{}-{}",
                    &digits[..area_len],
                    &digits[area_len..]
                )));
            }
        }
        Err("invalid_phone")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        crate::domain::mask::mask_phone(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_mobiles_and_landlines() {
        let cases = [
            ("13812345678", "13812345678"),
            ("+86 138 1234 5678", "13812345678"),
            ("0086-13812345678", "13812345678"),
            ("0351-1234567", "0351-1234567"),
            ("(010) 12345678", "010-12345678"),
        ];
        for (input, want) in cases {
            assert_eq!(Phone::parse(input).unwrap().as_str(), want, "input {input}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_phone() {
        for bad in [
            "",
            "12812345678",
            "1381234567",
            "138123456789",
            "abc",
            "138-1234-567x",
            "0351-123",
        ] {
            assert_eq!(Phone::parse(bad), Err("invalid_phone"), "input {bad:?}");
        }
    }
}
