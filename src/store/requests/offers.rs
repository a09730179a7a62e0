//! Reading dispatch offers; they are written with the request's changes (`help_requests`).

use uuid::Uuid;

use crate::store::requests::help_requests::{OPEN_OFFERS, OfferRow};
use crate::store::{Db, StoreResult, on_db};

const OFFER_COLUMNS_OF_REQUEST: &str =
    "select id, request_id, community_id, volunteer_id, attempt, mode, score,
    breakdown, offered_by, offered_at, expires_at, answer, answered_at, decline_reason
    from dispatch_offers where request_id = $1 order by offered_at, score desc, id";
const OFFER: &str = "select id, request_id, community_id, volunteer_id, attempt, mode, score,
    breakdown, offered_by, offered_at, expires_at, answer, answered_at, decline_reason
    from dispatch_offers where id = $1";
const OPEN_OFFERS_OF_VOLUNTEER: &str =
    "select id, request_id, community_id, volunteer_id, attempt, mode, score,
    breakdown, offered_by, offered_at, expires_at, answer, answered_at, decline_reason
    from dispatch_offers where volunteer_id = $1 and answer is null order by id limit 200";

pub async fn offers(db: &Db, request_id: Uuid) -> StoreResult<Vec<OfferRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OFFER_COLUMNS_OF_REQUEST).bind(request_id).fetch_all(pool).await?))
}

pub async fn offer(db: &Db, id: Uuid) -> StoreResult<OfferRow> {
    on_db!(db, pool => Ok(sqlx::query_as(OFFER).bind(id).fetch_one(pool).await?))
}

/// A volunteer's open offers (at most 200: a volunteer never has that many at once).
pub async fn open_offers_of(db: &Db, volunteer_id: Uuid) -> StoreResult<Vec<OfferRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OPEN_OFFERS_OF_VOLUNTEER).bind(volunteer_id).fetch_all(pool).await?))
}

pub async fn open_offer_count(db: &Db, request_id: Uuid) -> StoreResult<i64> {
    on_db!(db, pool => Ok(sqlx::query_scalar(OPEN_OFFERS).bind(request_id).fetch_one(pool).await?))
}
