//! Stream tickets: single-use, short-lived stand-ins for an access token in a stream's URL,
//! stored by hash so that any instance redeems one and none twice.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{Db, StoreResult, on_db};

const INSERT: &str =
    "insert into stream_tickets (hash, user_id, expires_at, token_expires_at, created_at)
    values ($1, $2, $3, $4, $5)";

pub async fn insert(
    db: &Db,
    hash: &str,
    user_id: Uuid,
    expires_at: DateTime<Utc>,
    token_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_db!(db, pool => sqlx::query(INSERT).bind(hash).bind(user_id).bind(expires_at)
        .bind(token_expires_at).bind(now).execute(pool).await.map(|_| ())?);
    Ok(())
}

// One statement takes it: of two instances redeeming the same ticket at once, one deletes the
// row and the other finds nothing. An expired ticket is left for the pruning.
const TAKE: &str = "delete from stream_tickets where hash = $1 and expires_at > $2
    returning user_id, token_expires_at";

/// Redeems a ticket: its user and when their token expires, once; `None` for an unknown,
/// expired or already used ticket.
pub async fn take(
    db: &Db,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<(Uuid, DateTime<Utc>)>> {
    on_db!(db, pool => Ok(sqlx::query_as(TAKE).bind(hash).bind(now).fetch_optional(pool).await?))
}

const PRUNE: &str = "delete from stream_tickets where hash in
    (select hash from stream_tickets where expires_at <= $1 order by expires_at limit $2)";

/// Deletes up to `limit` tickets expired at `now`; how many went.
pub async fn prune(db: &Db, now: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    Ok(
        on_db!(db, pool => sqlx::query(PRUNE).bind(now).bind(limit).execute(pool).await?.rows_affected()),
    )
}
