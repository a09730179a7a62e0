//! A volunteer's record: identity, every ledger entry, totals by year and by source.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{hours, may_read, zone};
use crate::auth::Principal;
use crate::domain::mask::{mask_id_card, mask_phone};
use crate::services::ServiceResult;
use crate::state::AppState;
use crate::store;

/// More entries than a volunteer earns in decades; a record is one document, not a page.
const MAX_ENTRIES: i64 = 20_000;

#[derive(Debug, Serialize)]
pub struct RecordView {
    pub volunteer: Identity,
    pub entries: Vec<EntryView>,
    pub totals: Totals,
    /// True when the record holds more entries than were listed (the totals count them all).
    pub truncated: bool,
}

#[derive(Debug, Serialize)]
pub struct Identity {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    /// The ID number, masked; absent when the volunteer has no resident record holding one.
    pub id_card: Option<String>,
    pub community_id: Uuid,
    pub community_name: String,
    pub registered_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct EntryView {
    pub id: Uuid,
    /// The day of service in the community's time zone.
    pub date: NaiveDate,
    pub at: DateTime<Utc>,
    pub source_type: String,
    pub source_id: Uuid,
    /// What the service was: the service type of a help request, else the entry's note.
    pub content: String,
    pub note: Option<String>,
    pub minutes: i64,
    pub hours: f64,
    pub recorded_by: Option<Recorder>,
    pub evaluation: Option<Evaluation>,
}

#[derive(Debug, Serialize)]
pub struct Recorder {
    pub id: Uuid,
    pub name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Evaluation {
    pub rating: i64,
    pub comment: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Totals {
    pub minutes: i64,
    pub hours: f64,
    pub by_year: Vec<YearTotal>,
    pub by_source: Vec<SourceTotal>,
}

#[derive(Debug, Serialize)]
pub struct YearTotal {
    pub year: i32,
    pub minutes: i64,
    pub hours: f64,
}

#[derive(Debug, Serialize)]
pub struct SourceTotal {
    pub source_type: String,
    pub minutes: i64,
    pub hours: f64,
}

pub async fn record(
    ctx: &AppState,
    p: &Principal,
    volunteer_id: Uuid,
) -> ServiceResult<RecordView> {
    let v = store::registry::volunteers::get(&ctx.db, volunteer_id).await?;
    may_read(p, &v)?;
    let community = store::registry::communities::get(&ctx.db, v.community_id).await?;
    let tz = zone(&community.time_zone);
    let id_card =
        store::records::ledger::masked_id_card(&ctx.db, v.community_id, v.user_id).await?;
    let mut rows = store::records::ledger::entries(&ctx.db, v.id, MAX_ENTRIES + 1).await?;
    let truncated = rows.len() as i64 > MAX_ENTRIES;
    rows.truncate(MAX_ENTRIES as usize);

    let mut by_year: BTreeMap<i32, i64> = BTreeMap::new();
    let mut by_source: BTreeMap<String, i64> = BTreeMap::new();
    let mut total = 0;
    let entries: Vec<EntryView> = rows
        .into_iter()
        .map(|e| {
            let date = e.at.with_timezone(&tz).date_naive();
            total += e.minutes;
            *by_year.entry(date.year()).or_default() += e.minutes;
            *by_source.entry(e.source_type.clone()).or_default() += e.minutes;
            EntryView {
                id: e.id,
                date,
                at: e.at,
                content: e
                    .service_name
                    .or_else(|| e.note.clone())
                    .unwrap_or_else(|| e.source_type.clone()),
                source_type: e.source_type,
                source_id: e.source_id,
                note: e.note,
                minutes: e.minutes,
                hours: hours(e.minutes),
                recorded_by: e.recorded_by.map(|id| Recorder {
                    id,
                    name: e.recorder_name,
                }),
                evaluation: e.rating.map(|rating| Evaluation {
                    rating,
                    comment: e.rating_comment,
                }),
            }
        })
        .collect();
    Ok(RecordView {
        volunteer: Identity {
            id: v.id,
            name: v.name,
            phone: v.phone.as_deref().map(mask_phone),
            id_card: id_card.as_deref().map(mask_id_card_again),
            community_id: community.id,
            community_name: community.name,
            registered_at: v.created_at,
        },
        entries,
        totals: Totals {
            minutes: total,
            hours: hours(total),
            by_year: by_year
                .into_iter()
                .map(|(year, minutes)| YearTotal {
                    year,
                    minutes,
                    hours: hours(minutes),
                })
                .collect(),
            by_source: by_source
                .into_iter()
                .map(|(source_type, minutes)| SourceTotal {
                    source_type,
                    minutes,
                    hours: hours(minutes),
                })
                .collect(),
        },
        truncated,
    })
}

/// The stored masked number is already masked; a full number (never stored there, but cheap to
/// guard against) is masked here.
fn mask_id_card_again(s: &str) -> String {
    if s.contains('*') {
        s.to_string()
    } else {
        mask_id_card(s)
    }
}
