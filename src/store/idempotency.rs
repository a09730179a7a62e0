//! `Idempotency-Key`s of POSTs: which attempt holds a key and until when, whether its write
//! committed, and the first answer, replayed to retries.
//!
//! A key is claimed before the request runs and held for a lease. The write the request makes
//! marks the key committed in the write's own transaction (`WriteTx::commit` calls
//! [`mark_committed`] while the request's [`Hold`] is in scope), and only if the attempt still
//! holds it. So after a crash or an outage a retry finds one of: the stored answer (replayed); a
//! key whose attempt never committed and whose lease ran out (taken over: the request runs once);
//! or a committed write whose answer was lost (the object it wrote is named instead).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdempotencyRow {
    pub request_hash: String,
    pub status_code: Option<i64>,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub locked_until: Option<DateTime<Utc>>,
    pub committed_at: Option<DateTime<Utc>>,
    pub subject_type: Option<String>,
    pub subject_id: Option<Uuid>,
}

pub enum Claim {
    /// This attempt holds the key and must run.
    Claimed,
    /// The key is held, answered or committed by another attempt.
    Existing(IdempotencyRow),
}

/// One claim: the key, the attempt that wants it, and the clock.
pub struct ClaimOf<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
    pub attempt: Uuid,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    /// Keys created before this are expired: claimed as if new.
    pub expired_before: DateTime<Utc>,
}

const INSERT: &str =
    "insert into idempotency_keys (scope, key, request_hash, created_at, attempt, locked_until)
    values ($1, $2, $3, $4, $5, $6)";
// An expired key starts over; a live one is taken over only by the same request, only if its
// attempt never committed and its lease ran out.
const TAKE_OVER: &str = "update idempotency_keys set attempt = $5, locked_until = $6,
        request_hash = $3, created_at = case when created_at < $7 then $4 else created_at end,
        status_code = case when created_at < $7 then null else status_code end,
        content_type = case when created_at < $7 then null else content_type end,
        etag = case when created_at < $7 then null else etag end,
        response_body = case when created_at < $7 then null else response_body end,
        committed_at = case when created_at < $7 then null else committed_at end,
        subject_type = case when created_at < $7 then null else subject_type end,
        subject_id = case when created_at < $7 then null else subject_id end
    where scope = $1 and key = $2
      and (created_at < $7
           or (request_hash = $3 and status_code is null and committed_at is null
               and (locked_until is null or locked_until <= $4)))";
const GET: &str = "select request_hash, status_code, content_type, etag, response_body, locked_until, committed_at,
        subject_type, subject_id
    from idempotency_keys where scope = $1 and key = $2";

/// Claims the key for `c.attempt`, or returns what is stored under it.
pub async fn claim(db: &Db, c: &ClaimOf<'_>) -> StoreResult<Claim> {
    let inserted: Result<(), sqlx::Error> = on_db!(db, pool => sqlx::query(INSERT).bind(c.scope).bind(c.key)
        .bind(c.request_hash).bind(c.now).bind(c.attempt).bind(c.lease_until).execute(pool).await.map(|_| ()));
    match inserted.map_err(StoreError::from) {
        Ok(()) => return Ok(Claim::Claimed),
        Err(StoreError::Conflict) => {}
        Err(e) => return Err(e),
    }
    let taken = on_db!(db, pool => sqlx::query(TAKE_OVER).bind(c.scope).bind(c.key).bind(c.request_hash)
        .bind(c.now).bind(c.attempt).bind(c.lease_until).bind(c.expired_before)
        .execute(pool).await?.rows_affected());
    if taken == 1 {
        return Ok(Claim::Claimed);
    }
    let row =
        on_db!(db, pool => sqlx::query_as(GET).bind(c.scope).bind(c.key).fetch_one(pool).await?);
    Ok(Claim::Existing(row))
}

/// The request holding a key, in scope while it runs (see `Hold::run`).
#[derive(Debug, Clone)]
pub struct Hold {
    pub scope: String,
    pub key: String,
    pub attempt: Uuid,
}

tokio::task_local! {
    static HOLD: Hold;
}

impl Hold {
    /// Runs `f` (the request) with this hold in scope of its write transactions.
    pub async fn run<F: Future>(self, f: F) -> F::Output {
        HOLD.scope(self, f).await
    }

    /// The hold of the request this task is running, if it carries a key.
    pub(crate) fn current() -> Option<Hold> {
        HOLD.try_with(Clone::clone).ok()
    }
}

/// What a write was about: told to a retry whose answer was lost.
#[derive(Debug, Clone, Copy)]
pub struct Subject {
    pub kind: &'static str,
    pub id: Uuid,
}

const MARK_COMMITTED: &str = "update idempotency_keys set committed_at = $4,
        subject_type = coalesce($5, subject_type), subject_id = coalesce($6, subject_id)
    where scope = $1 and key = $2 and attempt = $3";

/// Inside the write's transaction: the key is committed with it, or the write is abandoned
/// because another attempt took the key over.
macro_rules! mark_committed_in {
    ($conn:expr, $hold:expr, $subject:expr, $now:expr) => {{
        let n = sqlx::query(MARK_COMMITTED)
            .bind(&$hold.scope)
            .bind(&$hold.key)
            .bind($hold.attempt)
            .bind($now)
            .bind($subject.map(|s: Subject| s.kind))
            .bind($subject.map(|s: Subject| s.id))
            .execute($conn)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Guard("idempotency_in_progress"));
        }
        Ok(())
    }};
}

pub(crate) async fn mark_committed_sqlite(
    conn: &mut sqlx::SqliteConnection,
    hold: &Hold,
    subject: Option<Subject>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    mark_committed_in!(conn, hold, subject, now)
}

pub(crate) async fn mark_committed_postgres(
    conn: &mut sqlx::PgConnection,
    hold: &Hold,
    subject: Option<Subject>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    mark_committed_in!(conn, hold, subject, now)
}

const COMPLETE: &str = "update idempotency_keys set status_code = $4, content_type = $5, etag = $6,
        response_body = $7, locked_until = null
    where scope = $1 and key = $2 and attempt = $3";

/// What is replayed: status, the headers a client relies on, and the body.
pub struct StoredResponse<'a> {
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub body: &'a [u8],
}

/// Stores the holder's answer.
pub async fn complete(db: &Db, hold: &Hold, r: StoredResponse<'_>) -> StoreResult<()> {
    on_db!(db, pool => {
        sqlx::query(COMPLETE).bind(&hold.scope).bind(&hold.key).bind(hold.attempt)
            .bind(i64::from(r.status)).bind(r.content_type).bind(r.etag).bind(r.body)
            .execute(pool).await?;
    });
    Ok(())
}

const RELEASE: &str = "delete from idempotency_keys
    where scope = $1 and key = $2 and attempt = $3 and status_code is null and committed_at is null";

const UNLOCK: &str = "update idempotency_keys set locked_until = null
    where scope = $1 and key = $2 and attempt = $3 and status_code is null";

/// After a server error: a key whose request wrote nothing is given back, so that a retry runs
/// at once; one whose write committed is unlocked, so that a retry is told about the write at
/// once rather than after the lease.
pub async fn release(db: &Db, hold: &Hold) -> StoreResult<()> {
    on_db!(db, pool => {
        sqlx::query(RELEASE).bind(&hold.scope).bind(&hold.key).bind(hold.attempt).execute(pool).await?;
        sqlx::query(UNLOCK).bind(&hold.scope).bind(&hold.key).bind(hold.attempt).execute(pool).await?;
    });
    Ok(())
}

const PRUNE: &str = "delete from idempotency_keys where (scope, key) in
    (select scope, key from idempotency_keys where created_at < $1 order by created_at limit $2)";

/// Deletes up to `limit` keys created before `before`; how many went.
pub async fn prune(db: &Db, before: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    Ok(
        on_db!(db, pool => sqlx::query(PRUNE).bind(before).bind(limit).execute(pool).await?.rows_affected()),
    )
}
