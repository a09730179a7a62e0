//! Pending hours (issue 13): what attendance gives before staff approve it. Mobilisations and
//! activities write their entries with `insert_pending!` inside their own transaction; the
//! approval, the reads and the ledger row an approval writes live beside it in this capability.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

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

macro_rules! columns {
    () => {
        "id, community_id, volunteer_id, source_type, source_id, part_id, content, starts_at,
    ends_at, minutes, status, recorded_by, decided_by, decided_at, reason, ledger_id, created_at"
    };
}

const GET: &str = concat!("select ", columns!(), " from hours_entries where id = $1");
const OF_COMMUNITY: &str = concat!(
    "select ",
    columns!(),
    " from hours_entries where community_id = $1 and ($2 is null or status = $2)
    and ($3 is null or source_type = $3) and ($4 is null or volunteer_id = $4)
    and ($5 is null or id > $5) order by id limit $6"
);
const OF_VOLUNTEER: &str = concat!(
    "select ",
    columns!(),
    " from hours_entries where volunteer_id = $1 and ($2 is null or id > $2) order by id limit $3"
);
const APPROVE: &str = "update hours_entries set status = 'approved', decided_by = $3,
        decided_at = $4, ledger_id = $5
    where id = $1 and community_id = $2 and status = 'pending'";
const DECLINE: &str = "update hours_entries set status = 'declined', decided_by = $3,
        decided_at = $4, reason = $5
    where id = $1 and community_id = $2 and status = 'pending'";
const STATUS_OF: &str = "select status from hours_entries where id = $1 and community_id = $2";
const LEDGER: &str = "insert into service_hours (id, community_id, volunteer_id, source_type,
        source_id, minutes, verified_by, note, at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// The filters of a community's list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<String>,
    pub source_type: Option<String>,
    pub volunteer_id: Option<Uuid>,
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<HoursEntryRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

pub async fn of_community(
    db: &Db,
    community_id: Uuid,
    f: &Filter,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<HoursEntryRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OF_COMMUNITY).bind(community_id).bind(&f.status)
        .bind(&f.source_type).bind(f.volunteer_id).bind(after).bind(limit)
        .fetch_all(pool).await?))
}

pub async fn of_volunteer(
    db: &Db,
    volunteer_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<HoursEntryRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OF_VOLUNTEER).bind(volunteer_id).bind(after)
        .bind(limit).fetch_all(pool).await?))
}

/// A decision staff take on entries of a community, all of them or none.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Each entry reaches the ledger; `points_per_hour` > 0 earns time-bank points.
    Approve {
        points_per_hour: u32,
    },
    Decline {
        reason: String,
    },
}

/// Decides every entry of `ids` (in this order; callers sort them, so that two bulk decisions
/// lock entries in the same order) in one transaction: an approval writes the ledger row (source,
/// minutes, approver, the content as its note, dated when the work ended) and the points.
/// `NotFound` when an id is not an entry of the community, `already_decided` when one is no
/// longer pending; then nothing is written.
pub async fn decide(
    db: &Db,
    community_id: Uuid,
    ids: &[Uuid],
    decision: &Decision,
    by: Uuid,
    at: DateTime<Utc>,
) -> StoreResult<Vec<HoursEntryRow>> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let ledger_id = Uuid::now_v7();
            let n = match decision {
                Decision::Approve { .. } => sqlx::query(APPROVE).bind(id).bind(community_id)
                    .bind(by).bind(at).bind(ledger_id).execute(&mut *tx).await?,
                Decision::Decline { reason } => sqlx::query(DECLINE).bind(id).bind(community_id)
                    .bind(by).bind(at).bind(reason).execute(&mut *tx).await?,
            }.rows_affected();
            if n == 0 {
                let status: Option<String> = sqlx::query_scalar(STATUS_OF).bind(id)
                    .bind(community_id).fetch_optional(&mut *tx).await?;
                return Err(match status {
                    None => StoreError::NotFound,
                    Some(_) => StoreError::Guard("already_decided"),
                });
            }
            let e: HoursEntryRow = sqlx::query_as(GET).bind(id).fetch_one(&mut *tx).await?;
            out.push(e);
        }
        if let Decision::Approve { points_per_hour } = decision {
            // Balances are taken after every entry and in volunteer order, so that two bulk
            // approvals never hold one's balance while waiting for the other's entry.
            let mut by_volunteer: Vec<&HoursEntryRow> = out.iter().collect();
            by_volunteer.sort_by_key(|e| (e.volunteer_id, e.id));
            for e in by_volunteer {
                let ledger_id = e.ledger_id.ok_or(StoreError::NotFound)?;
                sqlx::query(LEDGER).bind(ledger_id).bind(e.community_id).bind(e.volunteer_id)
                    .bind(&e.source_type).bind(e.source_id).bind(e.minutes).bind(by)
                    .bind(&e.content).bind(e.ends_at).execute(&mut *tx).await?;
                let points = crate::domain::time_bank::earned(e.minutes, *points_per_hour);
                if points > 0 {
                    crate::store::records::points::earn!(tx, e.community_id, e.volunteer_id,
                        points, e.id, Some(by), at);
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    })
}
