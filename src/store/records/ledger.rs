//! The ledger as a volunteer record reads it: every entry with who recorded it and, where the
//! source was rated, the evaluation; the identity the record opens with.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{Db, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecordEntry {
    pub id: Uuid,
    pub source_type: String,
    pub source_id: Uuid,
    pub minutes: i64,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
    pub recorded_by: Option<Uuid>,
    pub recorder_name: Option<String>,
    /// A help request's service type; other sources describe themselves in `note`.
    pub service_name: Option<String>,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
}

// Sources are data: an entry of a source this query knows nothing of still appears, with its
// note as the content. Ratings and service types join on the source id, which is a UUIDv7 and
// so never matches a row of another source.
const ENTRIES: &str = "select h.id, h.source_type, h.source_id, h.minutes, h.note, h.at,
        h.verified_by as recorded_by, u.display_name as recorder_name,
        st.name as service_name,
        (select r.rating from ratings r where r.request_id = h.source_id
            and r.volunteer_id = h.volunteer_id order by r.at desc limit 1) as rating,
        (select r.comment from ratings r where r.request_id = h.source_id
            and r.volunteer_id = h.volunteer_id order by r.at desc limit 1) as rating_comment
    from service_hours h
    left join users u on u.id = h.verified_by
    left join help_requests hr on h.source_type = 'help_request' and hr.id = h.source_id
    left join service_types st on st.id = hr.service_type_id
    where h.volunteer_id = $1
    order by h.at, h.id
    limit $2";

/// The volunteer's entries, oldest first, at most `limit`.
pub async fn entries(db: &Db, volunteer_id: Uuid, limit: i64) -> StoreResult<Vec<RecordEntry>> {
    on_db!(db, pool => Ok(sqlx::query_as(ENTRIES).bind(volunteer_id).bind(limit)
        .fetch_all(pool).await?))
}

const ID_CARD: &str = "select id_card_masked from residents
    where community_id = $1 and user_id = $2 and id_card_masked is not null
    order by id limit 1";

/// The masked ID number of the volunteer's own resident record in the community, if any: the
/// volunteer profile holds no ID number of its own.
pub async fn masked_id_card(
    db: &Db,
    community_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<String>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(ID_CARD).bind(community_id).bind(user_id)
        .fetch_optional(pool).await?))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VolunteerTotal {
    pub volunteer_id: Uuid,
    pub name: String,
    pub minutes: i64,
    pub entries: i64,
}

const BY_VOLUNTEER: &str = "select h.volunteer_id, v.name,
        cast(sum(h.minutes) as bigint) as minutes, count(*) as entries
    from service_hours h
    join volunteers v on v.id = h.volunteer_id
    where h.community_id = $1 and h.at >= $2 and h.at < $3
    group by h.volunteer_id, v.name
    order by minutes desc, v.name, h.volunteer_id";

/// Each volunteer's hours credited in the community in `[from, to)`, most first; volunteers
/// with none are not listed.
pub async fn by_volunteer(
    db: &Db,
    community_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<VolunteerTotal>> {
    on_db!(db, pool => Ok(sqlx::query_as(BY_VOLUNTEER).bind(community_id).bind(from).bind(to)
        .fetch_all(pool).await?))
}
