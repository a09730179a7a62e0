//! The outbox as the relay reads it. Pending rows are leased (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; SQLite has one writer, under `BEGIN IMMEDIATE`), so any number of instances relay
//! at once and each row is handed on once; a crashed holder's lease runs out and the row is
//! taken again. Pending means `delivered_at is null`, not "after the last id seen": rows of
//! concurrent transactions commit out of id order, and none is skipped.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::delivery::notifications::{
    INSERT_NOTIFICATION, NewNotification, bind_notification,
};
use crate::store::delivery::webhook_deliveries::{INSERT_DELIVERY, NewDelivery, bind_delivery};
use crate::store::delivery::wechat_messages::{
    INSERT_WECHAT_MESSAGE, NewWechatMessage, bind_wechat_message,
};
use crate::store::{BeginWrite, Db, StoreResult, lease_rows, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxEvent {
    pub id: Uuid,
    pub community_id: Option<Uuid>,
    pub topic: String,
    pub aggregate_type: String,
    pub aggregate_id: Uuid,
    pub payload: Json<Value>,
    pub created_at: DateTime<Utc>,
}

const LEASE_PG: &str = "update outbox set locked_until = $2
    where id in (select id from outbox where delivered_at is null and (locked_until is null or locked_until <= $1)
                 order by id limit $3 for update skip locked)
    returning id, community_id, topic, aggregate_type, aggregate_id, payload, created_at";
const LEASE_SQLITE: &str = "update outbox set locked_until = $2
    where id in (select id from outbox where delivered_at is null and (locked_until is null or locked_until <= $1)
                 order by id limit $3)
    returning id, community_id, topic, aggregate_type, aggregate_id, payload, created_at";

/// Leases up to `limit` pending events until `lease_until`, oldest first.
pub async fn lease(
    db: &Db,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<OutboxEvent>> {
    let mut rows: Vec<OutboxEvent> =
        lease_rows(db, (LEASE_PG, LEASE_SQLITE), now, lease_until, limit).await?;
    rows.sort_by_key(|e| e.id);
    Ok(rows)
}

/// What one event becomes on every channel, written with the event's mark in one transaction.
#[derive(Debug, Default)]
pub struct Handover {
    pub notifications: Vec<NewNotification>,
    /// One per active webhook of the event's community that follows its kind.
    pub webhook_deliveries: Vec<NewDelivery>,
    pub wechat_messages: Vec<NewWechatMessage>,
}

const MARK: &str = "update outbox set delivered_at = $2, locked_until = null where id = $1 and delivered_at is null";
const NOTIFY_PG: &str = "select pg_notify($1, $2)";

/// The channel on which PostgreSQL tells every instance that a user has something new; the
/// payload is the user's id.
pub const INBOX_CHANNEL: &str = "huying_inbox";

/// Hands `events` over in one transaction: each one's channel rows are written and it is
/// marked delivered, together. For each, `false` when another relay delivered it first (nothing
/// of it written). One transaction a batch, not an event: under full load the commits, not the
/// statements, are what the relay waits for.
pub async fn hand_over(
    db: &Db,
    events: &[(&OutboxEvent, &Handover)],
    now: DateTime<Utc>,
) -> StoreResult<Vec<bool>> {
    // Only PostgreSQL has other instances to wake; SQLite's one process is told by the relay.
    let notify = matches!(db, Db::Postgres(_));
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let mut handed = Vec::with_capacity(events.len());
        let mut told: Vec<Uuid> = Vec::new();
        for (event, h) in events {
            let n = sqlx::query(MARK).bind(event.id).bind(now).execute(&mut *tx).await?.rows_affected();
            handed.push(n > 0);
            if n == 0 {
                continue;
            }
            for note in &h.notifications {
                bind_notification!(sqlx::query(INSERT_NOTIFICATION), note).execute(&mut *tx).await?;
                told.push(note.user_id);
            }
            for d in &h.webhook_deliveries {
                bind_delivery!(sqlx::query(INSERT_DELIVERY), d).execute(&mut *tx).await?;
            }
            for m in &h.wechat_messages {
                bind_wechat_message!(sqlx::query(INSERT_WECHAT_MESSAGE), m).execute(&mut *tx).await?;
            }
        }
        if notify {
            told.sort();
            told.dedup();
            for user in &told {
                sqlx::query(NOTIFY_PG).bind(INBOX_CHANNEL).bind(user.to_string()).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(handed)
    })
}

const PRUNE: &str = "delete from outbox where id in
    (select id from outbox where delivered_at is not null and delivered_at < $1 order by delivered_at limit $2)";

/// Deletes up to `limit` events delivered before `before`; how many went.
pub async fn prune(db: &Db, before: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    Ok(
        on_db!(db, pool => sqlx::query(PRUNE).bind(before).bind(limit).execute(pool).await?.rows_affected()),
    )
}

const PENDING: &str = "select count(*) from outbox where delivered_at is null";

/// Events not yet handed over (for readiness figures and tests).
pub async fn pending(db: &Db) -> StoreResult<i64> {
    on_db!(db, pool => Ok(sqlx::query_scalar(PENDING).fetch_one(pool).await?))
}
