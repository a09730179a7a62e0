//! Coordinates (WGS-84 as the apps send them).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coordinates {
    pub lat: f64,
    pub lng: f64,
}

impl Coordinates {
    /// The stored pair back as a point; `None` unless both halves are there.
    pub fn from_columns(lat: Option<f64>, lng: Option<f64>) -> Option<Self> {
        lat.zip(lng).map(|(lat, lng)| Self { lat, lng })
    }

    pub fn parse(lat: f64, lng: f64) -> Result<Self, &'static str> {
        let inside = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng);
        if !inside {
            return Err("out_of_range");
        }
        Ok(Self { lat, lng })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_impossible_positions() {
        assert!(Coordinates::parse(36.19, 113.12).is_ok());
        assert_eq!(Coordinates::parse(91.0, 0.0), Err("out_of_range"));
        assert_eq!(Coordinates::parse(0.0, -181.0), Err("out_of_range"));
        assert_eq!(Coordinates::parse(f64::NAN, 0.0), Err("out_of_range"));
    }
}
