//! Volunteer service certificates (志愿服务证明): the certificate number and how a holder's name
//! is shown to whoever verifies one.

use std::fmt;

use crate::domain::code::Code;

/// `<COMMUNITY CODE>-<YEAR>-<SEQUENCE>`, e.g. `DIANLI-2026-000042`: the sequence counts per
/// community and year, six digits at least. Printed in upper case (read aloud and typed by
/// schools and employers); parsed in any case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateNumber {
    pub community_code: Code,
    pub year: i32,
    pub seq: i64,
}

impl CertificateNumber {
    pub fn new(community_code: Code, year: i32, seq: i64) -> Self {
        Self {
            community_code,
            year,
            seq,
        }
    }

    /// The number as someone typed it; `None` when it cannot be one (then no certificate has it).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.len() > 64 {
            return None;
        }
        // The code may itself hold `-`: the year and sequence are the last two parts.
        let mut parts = s.rsplitn(3, '-');
        let seq = parts.next()?;
        let year = parts.next()?;
        let code = parts.next()?;
        let digits = |p: &str, min: usize, max: usize| {
            (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(year, 4, 4) || !digits(seq, 6, 12) {
            return None;
        }
        let seq: i64 = seq.parse().ok()?;
        if seq < 1 {
            return None;
        }
        Some(Self {
            community_code: Code::parse(code.to_ascii_lowercase()).ok()?,
            year: year.parse().ok()?,
            seq,
        })
    }
}

impl fmt::Display for CertificateNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{:04}-{:06}",
            self.community_code.as_str().to_ascii_uppercase(),
            self.year,
            self.seq
        )
    }
}

/// A name as a verifier sees it: the first character, and the last one of names of three or
/// more; `*` for each other. `王小明` → `王*明`, `张三` → `张*`, `Li` → `L*`.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_string(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> Code {
        Code::parse(s).unwrap()
    }

    #[test]
    fn numbers_print_and_parse_back() {
        let n = CertificateNumber::new(code("dian-li"), 2026, 42);
        assert_eq!(n.to_string(), "DIAN-LI-2026-000042");
        assert_eq!(
            CertificateNumber::parse("DIAN-LI-2026-000042"),
            Some(n.clone())
        );
        assert_eq!(CertificateNumber::parse(" dian-li-2026-000042 "), Some(n));
        let big = CertificateNumber::new(code("a"), 2027, 1_234_567);
        assert_eq!(big.to_string(), "A-2027-1234567");
        assert_eq!(CertificateNumber::parse(&big.to_string()), Some(big));
    }

    #[test]
    fn what_cannot_be_a_number_is_refused() {
        for bad in [
            "",
            "DIANLI",
            "DIANLI-2026",
            "DIANLI-26-000001",
            "DIANLI-2026-1",
            "DIANLI-2026-000000",
            "-2026-000001",
            "1X-2026-000001",
            "DIANLI-2026-00000a",
            "电力-2026-000001",
            "DIANLI-2026-0000000000001",
        ] {
            assert_eq!(CertificateNumber::parse(bad), None, "{bad:?}");
        }
        assert_eq!(CertificateNumber::parse(&"A".repeat(80)), None);
    }

    #[test]
    fn names_keep_only_their_edges() {
        assert_eq!(mask_name("王小明"), "王*明");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("志愿者小王"), "志***王");
        assert_eq!(mask_name("王"), "*");
        assert_eq!(mask_name("Li"), "L*");
        assert_eq!(mask_name(""), "");
    }
}
