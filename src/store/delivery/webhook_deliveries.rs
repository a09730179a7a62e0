//! Webhook deliveries: queued by the relay in the event's hand-over, leased by the delivery
//! workers (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's one writer under `BEGIN
//! IMMEDIATE`), and finished with each attempt's record. A lease carries an id: the result of an
//! attempt is written only by the holder of the lease, so a worker that lost its lease (it ran
//! past it, or died) writes nothing over the next one's work.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::delivery::outbox::OutboxEvent;
use crate::store::{BeginWrite, Db, StoreResult, on_db};

/// A delivery to queue: one event for one webhook; `body` is what will be signed and sent.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub community_id: Uuid,
    pub event_id: Uuid,
    pub topic: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

macro_rules! bind_delivery {
    ($q:expr, $d:expr) => {
        $q.bind($d.id)
            .bind($d.webhook_id)
            .bind($d.community_id)
            .bind($d.event_id)
            .bind(&$d.topic)
            .bind(&$d.body)
            .bind($d.created_at)
    };
}

/// A delivery a worker holds.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeasedDelivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub community_id: Uuid,
    pub topic: String,
    pub body: String,
    pub step: i64,
}

// Endpoints that already hold their share in this instance are left out (`$5`): a uuid[] on
// PostgreSQL; on SQLite, which has no arrays, a JSON array of their ids in upper-case hex.
const LEASE_PG: &str = "update webhook_deliveries set locked_until = $2, lease_id = $4
    where id in (select id from webhook_deliveries
                 where next_attempt_at <= $1 and (locked_until is null or locked_until <= $1)
                   and not (webhook_id = any($5))
                 order by next_attempt_at limit $3 for update skip locked)
    returning id, webhook_id, community_id, topic, body, step";
const LEASE_SQLITE: &str = "update webhook_deliveries set locked_until = $2, lease_id = $4
    where id in (select id from webhook_deliveries
                 where next_attempt_at <= $1 and (locked_until is null or locked_until <= $1)
                   and hex(webhook_id) not in (select value from json_each($5))
                 order by next_attempt_at limit $3)
    returning id, webhook_id, community_id, topic, body, step";

/// Leases up to `limit` deliveries due at `now` until `until`, under lease `lease_id`, for any
/// webhook but those in `except`.
pub async fn lease(
    db: &Db,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    lease_id: Uuid,
    limit: i64,
    except: &[Uuid],
) -> StoreResult<Vec<LeasedDelivery>> {
    match db {
        Db::Postgres(pool) => Ok(sqlx::query_as(LEASE_PG)
            .bind(now)
            .bind(until)
            .bind(limit)
            .bind(lease_id)
            .bind(except)
            .fetch_all(pool)
            .await?),
        Db::Sqlite(pool) => {
            let except: Vec<String> = except
                .iter()
                .map(|id| id.simple().to_string().to_uppercase())
                .collect();
            let mut tx = pool.begin_write().await?;
            let rows = sqlx::query_as(LEASE_SQLITE)
                .bind(now)
                .bind(until)
                .bind(limit)
                .bind(lease_id)
                .bind(Json(except))
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(rows)
        }
    }
}

/// Where and how a delivery is sent.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Endpoint {
    pub url: String,
    pub secret: Vec<u8>,
    pub active: bool,
}

const ENDPOINT: &str = "select url, secret, active from webhooks where id = $1";

pub async fn endpoint(db: &Db, webhook_id: Uuid) -> StoreResult<Option<Endpoint>> {
    on_db!(db, pool => Ok(sqlx::query_as(ENDPOINT).bind(webhook_id).fetch_optional(pool).await?))
}

const PUT_BACK: &str = "update webhook_deliveries set locked_until = null, lease_id = null,
    next_attempt_at = $3 where id = $1 and lease_id = $2";

/// Gives a leased delivery back unsent, due again at `at` (none: parked, for an endpoint that
/// is turned off).
pub async fn put_back(
    db: &Db,
    id: Uuid,
    lease_id: Uuid,
    at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    on_db!(db, pool => {
        sqlx::query(PUT_BACK).bind(id).bind(lease_id).bind(at).execute(pool).await?;
    });
    Ok(())
}

/// One attempt and what follows from it.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    pub lease_id: Uuid,
    pub at: DateTime<Utc>,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub next: Next,
}

#[derive(Debug, Clone)]
pub enum Next {
    Succeeded,
    /// Failed `step` times in this round; the next attempt at `at`.
    Retry {
        step: i64,
        at: DateTime<Utc>,
    },
    /// Given up: the webhook is turned off for `reason`, and `alert` (an outbox event for its
    /// community's staff) written, if it was still on.
    Dead {
        reason: &'static str,
        alert: DisabledAlert,
    },
}

/// The `webhook.disabled` event.
#[derive(Debug, Clone)]
pub struct DisabledAlert {
    pub id: Uuid,
    pub community_id: Uuid,
    pub payload: Value,
}

const DISABLE: &str = "update webhooks set active = false, disabled_reason = $2, disabled_at = $3,
    version = version + 1, updated_at = $3 where id = $1 and active";
const PARK_ALL: &str = "update webhook_deliveries set next_attempt_at = null
    where webhook_id = $1 and status = 'pending' and next_attempt_at is not null";
const INSERT_ALERT: &str = "insert into outbox (id, community_id, topic, aggregate_type,
    aggregate_id, payload, created_at, delivered_at)
    values ($1, $2, 'webhook.disabled', 'webhook', $3, $4, $5, null)";
// A retry is parked instead when the webhook was turned off meanwhile.
const FINISH: &str = "update webhook_deliveries set status = $3, attempt_count = attempt_count + 1,
    step = $4,
    next_attempt_at = case when exists (select 1 from webhooks w where w.id = webhook_deliveries.webhook_id and w.active)
        then $5 else null end,
    locked_until = null, lease_id = null, last_attempt_at = $6, last_status_code = $7,
    last_error = $8, updated_at = $6
    where id = $1 and lease_id = $2";
const INSERT_ATTEMPT: &str = "insert into webhook_attempts (id, delivery_id, webhook_id,
    attempted_at, status_code, latency_ms, error) values ($1, $2, $3, $4, $5, $6, $7)";

/// Writes an attempt and its consequences together; `false` (nothing written) when the lease
/// was lost. A dead delivery turns its webhook off first (the webhook row before the
/// deliveries, the order every writer of both keeps, so that they never deadlock).
pub async fn record(db: &Db, a: &AttemptRecord) -> StoreResult<bool> {
    let (status, step, next_at) = match &a.next {
        Next::Succeeded => ("succeeded", 0, None),
        Next::Retry { step, at } => ("pending", *step, Some(*at)),
        Next::Dead { .. } => ("dead", 0, None),
    };
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        if let Next::Dead { reason, alert } = &a.next {
            let off = sqlx::query(DISABLE).bind(a.webhook_id).bind(*reason).bind(a.at)
                .execute(&mut *tx).await?.rows_affected();
            if off == 1 {
                sqlx::query(PARK_ALL).bind(a.webhook_id).execute(&mut *tx).await?;
                sqlx::query(INSERT_ALERT).bind(alert.id).bind(alert.community_id).bind(a.webhook_id)
                    .bind(Json(&alert.payload)).bind(a.at).execute(&mut *tx).await?;
            }
        }
        let n = sqlx::query(FINISH).bind(a.delivery_id).bind(a.lease_id).bind(status).bind(step)
            .bind(next_at).bind(a.at).bind(a.status_code).bind(&a.error)
            .execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            // Dropped without commit: rolled back.
            return Ok(false);
        }
        sqlx::query(INSERT_ATTEMPT).bind(a.id).bind(a.delivery_id).bind(a.webhook_id).bind(a.at)
            .bind(a.status_code).bind(a.latency_ms).bind(&a.error).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    })
}

/// A delivery as its webhook's owner sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub topic: String,
    pub status: String,
    pub attempt_count: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub delivery_id: Uuid,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

const PAGE: &str = "select id, webhook_id, event_id, topic, status, attempt_count, next_attempt_at,
    last_attempt_at, last_status_code, last_error, created_at, updated_at from webhook_deliveries
    where webhook_id = $1 and ($2 is null or id < $2) and ($3 is null or status = $3)
    order by id desc limit $4";
const ONE: &str = "select id, webhook_id, event_id, topic, status, attempt_count, next_attempt_at,
    last_attempt_at, last_status_code, last_error, created_at, updated_at from webhook_deliveries
    where id = $1 and webhook_id = $2";
const ATTEMPTS: &str = "select delivery_id, attempted_at, status_code, latency_ms, error
    from webhook_attempts where delivery_id >= $2 and delivery_id <= $3 and webhook_id = $1
    order by delivery_id, id";

/// A webhook's deliveries, newest first, before `before`.
pub async fn page(
    db: &Db,
    webhook_id: Uuid,
    before: Option<Uuid>,
    status: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<DeliveryRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(PAGE).bind(webhook_id).bind(before).bind(status)
        .bind(limit).fetch_all(pool).await?))
}

pub async fn get(db: &Db, webhook_id: Uuid, id: Uuid) -> StoreResult<DeliveryRow> {
    on_db!(db, pool => Ok(sqlx::query_as(ONE).bind(id).bind(webhook_id).fetch_one(pool).await?))
}

/// The attempts of the webhook's deliveries with ids from `lo` to `hi`, oldest first.
pub async fn attempts(
    db: &Db,
    webhook_id: Uuid,
    lo: Uuid,
    hi: Uuid,
) -> StoreResult<Vec<AttemptRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(ATTEMPTS).bind(webhook_id).bind(lo).bind(hi)
        .fetch_all(pool).await?))
}

const RETRY: &str = "update webhook_deliveries set status = 'pending', step = 0,
    next_attempt_at = $3, updated_at = $3 where id = $1 and webhook_id = $2";

/// Makes a delivery due at `now` for a new round of attempts, whatever became of it.
pub async fn retry(db: &Db, webhook_id: Uuid, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
    let n = on_db!(db, pool => sqlx::query(RETRY).bind(id).bind(webhook_id).bind(now)
        .execute(pool).await?.rows_affected());
    if n == 0 {
        return Err(crate::store::StoreError::NotFound);
    }
    Ok(())
}

const SINCE: &str =
    "select id, community_id, topic, aggregate_type, aggregate_id, payload, created_at
    from outbox where community_id = $1 and created_at >= $2
      and ($3 is null or created_at > $3 or (created_at = $3 and id > $4))
    order by created_at, id limit $5";

/// A community's outbox events from `since` on, oldest first, after `after` (keyset).
pub async fn events_since(
    db: &Db,
    community_id: Uuid,
    since: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> StoreResult<Vec<OutboxEvent>> {
    let (at, id) = (after.map(|a| a.0), after.map(|a| a.1));
    on_db!(db, pool => Ok(sqlx::query_as(SINCE).bind(community_id).bind(since).bind(at).bind(id)
        .bind(limit).fetch_all(pool).await?))
}

const ENQUEUE_AGAIN: &str = "insert into webhook_deliveries (id, webhook_id,
    community_id, event_id, topic, body, status, attempt_count, step, next_attempt_at,
    locked_until, lease_id, last_attempt_at, last_status_code, last_error, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, 'pending', 0, 0, $7, null, null, null, null, null, $7, $7)
    on conflict (webhook_id, event_id) do update set status = 'pending', step = 0,
        next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at";

/// Queues each delivery, or makes the existing one for its event due again (same id, so the
/// receiver sees the same `webhook-id`); in one transaction.
pub async fn enqueue_again(db: &Db, deliveries: &[NewDelivery]) -> StoreResult<u64> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let mut n = 0;
        for d in deliveries {
            n += bind_delivery!(sqlx::query(ENQUEUE_AGAIN), d).execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    })
}

const PRUNE: &str = "delete from webhook_deliveries where id in
    (select id from webhook_deliveries where status <> 'pending' and updated_at < $1
     order by updated_at limit $2)";

/// Deletes up to `limit` deliveries finished before `before`, with their attempts.
pub async fn prune(db: &Db, before: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    Ok(
        on_db!(db, pool => sqlx::query(PRUNE).bind(before).bind(limit).execute(pool).await?.rows_affected()),
    )
}
