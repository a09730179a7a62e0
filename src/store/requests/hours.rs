//! The service-hours ledger (append-only) and the rows the three-rates report reads.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{Db, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HoursEntry {
    pub id: Uuid,
    pub volunteer_id: Uuid,
    pub source_type: String,
    pub source_id: Uuid,
    pub minutes: i64,
    pub verified_by: Option<Uuid>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

const ENTRIES: &str = "select id, volunteer_id, source_type, source_id, minutes, verified_by, note, at
    from service_hours where volunteer_id = $1 and ($2 is null or id < $2) order by id desc limit $3";
const TOTAL: &str = "select cast(coalesce(sum(minutes), 0) as bigint) from service_hours
    where volunteer_id = $1 and at >= $2";

pub async fn entries(
    db: &Db,
    volunteer_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<HoursEntry>> {
    on_db!(db, pool => Ok(sqlx::query_as(ENTRIES).bind(volunteer_id).bind(before).bind(limit)
        .fetch_all(pool).await?))
}

/// Minutes credited since `since` (use the epoch for the all-time total).
pub async fn total_since(db: &Db, volunteer_id: Uuid, since: DateTime<Utc>) -> StoreResult<i64> {
    on_db!(db, pool => Ok(sqlx::query_scalar(TOTAL).bind(volunteer_id).bind(since).fetch_one(pool).await?))
}

/// One request as the three-rates report sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RateRow {
    pub id: Uuid,
    pub grid_id: Option<Uuid>,
    pub service_type_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub status: crate::domain::help_request::Status,
    pub created_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub rating: Option<i64>,
    pub close_reason: Option<String>,
}

const RATE_ROWS: &str = "select id, grid_id, service_type_id, assignee_id, status, created_at, respond_by, responded_at,
        completed_at, rating, close_reason
    from help_requests where community_id = $1 and created_at >= $2 and created_at < $3
    order by created_at limit $4";
const TEAM_OF: &str = "select m.volunteer_id, m.team_id from team_members m
    join volunteers v on v.id = m.volunteer_id where v.community_id = $1";

pub async fn rate_rows(
    db: &Db,
    community_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<RateRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(RATE_ROWS).bind(community_id).bind(from).bind(to).bind(limit)
        .fetch_all(pool).await?))
}

/// (volunteer, team) pairs of the community.
pub async fn team_memberships(db: &Db, community_id: Uuid) -> StoreResult<Vec<(Uuid, Uuid)>> {
    on_db!(db, pool => Ok(sqlx::query_as(TEAM_OF).bind(community_id).fetch_all(pool).await?))
}
