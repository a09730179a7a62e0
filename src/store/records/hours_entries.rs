//! Pending hours (issue 13): what attendance gives before staff approve it. Mobilisations and
//! activities write their entries with `insert_pending!` inside their own transaction; the
//! approval, the reads and the ledger row an approval writes live beside it in this capability.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One entry as written: `source_type` is `mobilisation` or `activity`, `source_id` the
/// mobilisation or the activity, `part_id` the attendance pair or the session the hours are for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HoursEntryRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub volunteer_id: Uuid,
    pub source_type: String,
    pub source_id: Uuid,
    pub part_id: Uuid,
    pub content: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub minutes: i64,
    pub status: String,
    pub recorded_by: Option<Uuid>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub ledger_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl HoursEntryRow {
    /// A new pending entry; `recorded_by` is whoever recorded the attendance (the volunteer
    /// checking in, a carer signing in, staff by hand).
    #[allow(clippy::too_many_arguments)]
    pub fn pending(
        community_id: Uuid,
        volunteer_id: Uuid,
        source_type: &str,
        source_id: Uuid,
        part_id: Uuid,
        content: String,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        recorded_by: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Self {
        let minutes = (ends_at - starts_at).num_minutes().max(0);
        Self {
            id: Uuid::now_v7(),
            community_id,
            volunteer_id,
            source_type: source_type.to_string(),
            source_id,
            part_id,
            content,
            starts_at,
            ends_at,
            minutes,
            status: "pending".into(),
            recorded_by,
            decided_by: None,
            decided_at: None,
            reason: None,
            ledger_id: None,
            created_at: now,
        }
    }
}

pub(crate) const INSERT_PENDING: &str = "insert into hours_entries (id, community_id, volunteer_id,
        source_type, source_id, part_id, content, starts_at, ends_at, minutes, status,
        recorded_by, created_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12)
    on conflict (source_type, part_id, volunteer_id) do nothing";

/// Writes a pending entry inside the open transaction `$tx`; the same part and volunteer a
/// second time writes nothing (a retried check-out, a session signed twice).
macro_rules! insert_pending {
    ($tx:ident, $e:expr) => {{
        let e: &$crate::store::records::hours_entries::HoursEntryRow = $e;
        sqlx::query($crate::store::records::hours_entries::INSERT_PENDING)
            .bind(e.id)
            .bind(e.community_id)
            .bind(e.volunteer_id)
            .bind(&e.source_type)
            .bind(e.source_id)
            .bind(e.part_id)
            .bind(&e.content)
            .bind(e.starts_at)
            .bind(e.ends_at)
            .bind(e.minutes)
            .bind(e.recorded_by)
            .bind(e.created_at)
            .execute(&mut *$tx)
            .await?
    }};
}
pub(crate) use insert_pending;
