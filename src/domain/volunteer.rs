//! Volunteer status and weekly availability.

use serde::{Deserialize, Serialize};

use super::string_enum;

string_enum!(VolunteerStatus {
    Active => "active",
    Paused => "paused",
    Retired => "retired",
});

/// One weekly window in the community's time zone: ISO weekday (1 = Monday) and minutes
/// since midnight, `start < end` (a window never crosses midnight; split it in two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklySlot {
    pub weekday: u8,
    pub start_minute: u16,
    pub end_minute: u16,
}

/// The wire form: `{"weekday": 1, "start": "09:00", "end": "11:30"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklySlotDto {
    pub weekday: i64,
    pub start: String,
    pub end: String,
}

fn parse_hhmm(s: &str) -> Result<u16, &'static str> {
    let (h, m) = s.split_once(':').ok_or("invalid_time")?;
    if h.len() != 2 || m.len() != 2 {
        return Err("invalid_time");
    }
    let h: u16 = h.parse().map_err(|_| "invalid_time")?;
    let m: u16 = m.parse().map_err(|_| "invalid_time")?;
    match (h, m) {
        (24, 0) => Ok(24 * 60),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err("invalid_time"),
    }
}

pub fn format_hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl WeeklySlot {
    pub fn parse(dto: &WeeklySlotDto) -> Result<Self, &'static str> {
        let weekday = u8::try_from(dto.weekday)
            .ok()
            .filter(|d| (1..=7).contains(d))
            .ok_or("invalid_weekday")?;
        let start_minute = parse_hhmm(&dto.start)?;
        let end_minute = parse_hhmm(&dto.end)?;
        if start_minute >= end_minute {
            return Err("invalid_time_window");
        }
        Ok(Self {
            weekday,
            start_minute,
            end_minute,
        })
    }

    pub fn to_dto(self) -> WeeklySlotDto {
        WeeklySlotDto {
            weekday: self.weekday.into(),
            start: format_hhmm(self.start_minute),
            end: format_hhmm(self.end_minute),
        }
    }
}

/// At most 28 windows, sorted; overlapping windows on one day are rejected.
pub fn parse_availability(
    items: &[WeeklySlotDto],
) -> Result<Vec<WeeklySlot>, (usize, &'static str)> {
    if items.len() > 28 {
        return Err((28, "too_many"));
    }
    let mut slots = Vec::with_capacity(items.len());
    for (i, d) in items.iter().enumerate() {
        slots.push(WeeklySlot::parse(d).map_err(|e| (i, e))?);
    }
    slots.sort_by_key(|s| (s.weekday, s.start_minute));
    for w in slots.windows(2) {
        if w[0].weekday == w[1].weekday && w[1].start_minute < w[0].end_minute {
            return Err((0, "overlapping_windows"));
        }
    }
    Ok(slots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dto(d: i64, s: &str, e: &str) -> WeeklySlotDto {
        WeeklySlotDto {
            weekday: d,
            start: s.into(),
            end: e.into(),
        }
    }

    #[test]
    fn parses_windows_and_rejects_backwards_ones() {
        let s = WeeklySlot::parse(&dto(1, "09:00", "11:30")).unwrap();
        assert_eq!((s.weekday, s.start_minute, s.end_minute), (1, 540, 690));
        assert_eq!(s.to_dto().end, "11:30");
        assert_eq!(
            WeeklySlot::parse(&dto(1, "11:00", "09:00")),
            Err("invalid_time_window")
        );
        assert_eq!(
            WeeklySlot::parse(&dto(8, "09:00", "10:00")),
            Err("invalid_weekday")
        );
        assert_eq!(
            WeeklySlot::parse(&dto(1, "9:00", "10:00")),
            Err("invalid_time")
        );
        assert_eq!(
            WeeklySlot::parse(&dto(1, "23:00", "24:00"))
                .unwrap()
                .end_minute,
            1440
        );
        assert_eq!(
            WeeklySlot::parse(&dto(1, "10:60", "11:00")),
            Err("invalid_time")
        );
    }

    #[test]
    fn rejects_overlaps_on_one_day() {
        let ok = parse_availability(&[
            dto(2, "14:00", "16:00"),
            dto(1, "09:00", "11:00"),
            dto(1, "11:00", "12:00"),
        ])
        .unwrap();
        assert_eq!(ok[0].weekday, 1);
        assert_eq!(
            parse_availability(&[dto(1, "09:00", "11:00"), dto(1, "10:00", "12:00")]),
            Err((0, "overlapping_windows"))
        );
    }
}
