//! IANA time zones; schedules are read in the community's zone.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(s: impl AsRef<str>) -> Result<Self, &'static str> {
        s.as_ref()
            .trim()
            .parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| "invalid_time_zone")
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self(chrono_tz::Asia::Shanghai)
    }
}

impl From<TimeZone> for String {
    fn from(t: TimeZone) -> String {
        t.name().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_real_zones_only() {
        assert_eq!(
            TimeZone::parse("Asia/Shanghai").unwrap().name(),
            "Asia/Shanghai"
        );
        assert_eq!(TimeZone::parse("Asia/Beijing"), Err("invalid_time_zone"));
        assert_eq!(TimeZone::default().name(), "Asia/Shanghai");
    }
}
