//! Resident identity card numbers (居民身份证号码), GB 11643-1999.

use chrono::NaiveDate;

/// An 18-character ID number whose check digit and birth date are valid.
#[derive(Clone, PartialEq, Eq)]
pub struct IdCardNumber(String);

// Never print an ID number by accident.
impl std::fmt::Debug for IdCardNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdCardNumber({})", self.masked())
    }
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// The check character (`0`–`9` or `X`) of the first 17 digits; `None` unless they are 17 digits.
pub fn check_character(body: &str) -> Option<char> {
    let b = body.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(CHECK[(sum % 11) as usize] as char)
}

impl IdCardNumber {
    pub fn parse(s: impl AsRef<str>) -> Result<Self, &'static str> {
        let s = s.as_ref().trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
            return Err("invalid_id_card");
        }
        if b[0] == b'0' {
            return Err("invalid_id_card");
        }
        if check_character(&s[..17]) != Some(b[17] as char) {
            return Err("invalid_id_card");
        }
        if NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").is_err() {
            return Err("invalid_id_card");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").expect("validated on construction")
    }

    pub fn masked(&self) -> String {
        crate::domain::mask::mask_id_card(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_check(body: &str) -> String {
        format!("{body}{}", check_character(body).unwrap())
    }

    #[test]
    fn accepts_the_standard_example_and_lowercase_x() {
        // The worked example of GB 11643-1999.
        assert!(IdCardNumber::parse("11010519491231002X").is_ok());
        assert!(IdCardNumber::parse("11010519491231002x").is_ok());
        let id = IdCardNumber::parse("11010519491231002X").unwrap();
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(format!("{id:?}"), "IdCardNumber(110***********002X)");
    }

    #[test]
    fn rejects_bad_check_digits_dates_and_shapes() {
        for bad in [
            "110105194912310021",                     // wrong check digit
            with_check("11010519491331002").as_str(), // month 13
            with_check("01010519491231002").as_str(), // region 0
            "11010519491231002",                      // 17 chars
            "1101051949123100AX",                     // letters
            "",
        ] {
            assert_eq!(
                IdCardNumber::parse(bad),
                Err("invalid_id_card"),
                "input {bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_single_digit_change_is_caught(pos in 0usize..17, delta in 1u8..10) {
            let good = "11010519491231002X";
            let mut b = good.as_bytes().to_vec();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(b).unwrap();
            prop_assert!(IdCardNumber::parse(&changed).is_err());
        }
    }
}
