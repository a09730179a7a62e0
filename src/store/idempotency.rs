//! Stored first responses of POSTs that carried an `Idempotency-Key`.

use chrono::{DateTime, Utc};

use crate::store::{Db, StoreError, StoreResult, now, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdempotencyRow {
    pub request_hash: String,
    pub status_code: Option<i64>,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
}

pub enum Claim {
    /// This request holds the key and must run.
    Claimed,
    /// The key was used before (finished, or still running when `status_code` is None).
    Existing(IdempotencyRow),
}

const CLAIM: &str =
    "insert into idempotency_keys (scope, key, request_hash, created_at) values ($1, $2, $3, $4)";
const GET: &str = "select request_hash, status_code, content_type, etag, response_body, created_at from idempotency_keys
    where scope = $1 and key = $2";

/// Claims `(scope, key)` for a request, or returns what is already stored under it.
pub async fn claim(db: &Db, scope: &str, key: &str, request_hash: &str) -> StoreResult<Claim> {
    let inserted: Result<(), sqlx::Error> = on_db!(db, pool => sqlx::query(CLAIM).bind(scope).bind(key)
        .bind(request_hash).bind(now()).execute(pool).await.map(|_| ()));
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(Claim::Claimed),
        Err(StoreError::Conflict) => {
            let row: IdempotencyRow = on_db!(db, pool => sqlx::query_as(GET).bind(scope).bind(key).fetch_one(pool).await?);
            Ok(Claim::Existing(row))
        }
        Err(e) => Err(e),
    }
}

const COMPLETE: &str =
    "update idempotency_keys set status_code = $3, content_type = $4, etag = $5, response_body = $6
    where scope = $1 and key = $2";

/// What is replayed: status, the headers a client relies on, and the body.
pub struct StoredResponse<'a> {
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub body: &'a [u8],
}

pub async fn complete(db: &Db, scope: &str, key: &str, r: StoredResponse<'_>) -> StoreResult<()> {
    on_db!(db, pool => {
        sqlx::query(COMPLETE).bind(scope).bind(key).bind(i64::from(r.status)).bind(r.content_type).bind(r.etag)
            .bind(r.body).execute(pool).await?;
    });
    Ok(())
}

const RELEASE: &str =
    "delete from idempotency_keys where scope = $1 and key = $2 and status_code is null";

/// Gives the key back when the request failed on the server, so that a retry can run.
pub async fn release(db: &Db, scope: &str, key: &str) -> StoreResult<()> {
    on_db!(db, pool => { sqlx::query(RELEASE).bind(scope).bind(key).execute(pool).await?; });
    Ok(())
}
