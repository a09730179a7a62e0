//! The community's service requests as Open311 lists them: every help request, and the posted
//! requests that never became one (waiting in triage, or turned down there).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{Db, StoreResult, on_db};

/// One service request of the feed. `state` is the help request's status, or `pending` /
/// `rejected` for a posted request still in (or turned down by) triage.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedRow {
    pub id: Uuid,
    pub service_code: String,
    pub service_name: String,
    pub state: String,
    pub description: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub centre_lat: Option<f64>,
    pub centre_lng: Option<f64>,
    pub media_url: Option<String>,
    /// Why staff turned it down in triage (`rejected` only).
    pub reject_reason: Option<String>,
    pub resolve_by: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Both kinds of rows with the same columns, for one community (`$1`).
macro_rules! feed {
    () => {
        "select * from (
            select h.id, s.code as service_code, s.name as service_name, h.status as state, h.description,
                h.lat, h.lng, g.centre_lat, g.centre_lng, o.media_url, null as reject_reason, h.resolve_by, h.created_at, h.updated_at
            from help_requests h join service_types s on s.id = h.service_type_id
            left join grids g on g.id = h.grid_id
            left join open311_requests o on o.id = h.id
            where h.community_id = $1
          union all
            select o.id, s.code, s.name, o.state, o.description, o.lat, o.lng, null, null, o.media_url,
                o.reject_reason, null, o.created_at, o.updated_at
            from open311_requests o join service_types s on s.id = o.service_type_id
            where o.community_id = $1 and o.state <> 'placed'
        ) q "
    };
}

/// The service codes are a comma list matched whole (`_` escaped, as LIKE reads it as any
/// character); open/closed is `domain::open311::open_or_closed` in SQL.
const LIST: &str = concat!(
    feed!(),
    "where ($2 is null or ',' || $2 || ',' like '%,' || replace(q.service_code, '_', '\\_') || ',%' escape '\\')
       and ($3 is null or (case when q.state in ('completed', 'closed', 'cancelled', 'rejected')
                           then 'closed' else 'open' end) = $3)
       and q.created_at >= $4 and q.created_at <= $5
       and ($6 is null or q.updated_at >= $6)
       and ($7 is null or q.updated_at <= $7)
     order by q.created_at desc, q.id desc limit $8 offset $9"
);

const GET: &str = concat!(feed!(), "where q.id = $2");

#[derive(Debug, Clone)]
pub struct FeedFilter {
    pub community_id: Uuid,
    /// Comma-joined codes, each checked to be a code.
    pub service_codes: Option<String>,
    pub status: Option<&'static str>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub updated_after: Option<DateTime<Utc>>,
    pub updated_before: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

/// Newest first.
pub async fn list(db: &Db, f: &FeedFilter) -> StoreResult<Vec<FeedRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST)
        .bind(f.community_id).bind(&f.service_codes).bind(f.status).bind(f.start).bind(f.end)
        .bind(f.updated_after).bind(f.updated_before).bind(f.limit).bind(f.offset)
        .fetch_all(pool).await?))
}

pub async fn get(db: &Db, community: Uuid, id: Uuid) -> StoreResult<Option<FeedRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(community).bind(id).fetch_optional(pool).await?))
}
