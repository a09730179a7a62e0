//! The outbox as the relay reads it. Pending rows are leased (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; SQLite has one writer, under `BEGIN IMMEDIATE`), so any number of instances relay
//! at once and each row is handed on once; a crashed holder's lease runs out and the row is
//! taken again. Pending means `delivered_at is null`, not "after the last id seen": rows of
//! concurrent transactions commit out of id order, and none is skipped.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::delivery::notifications::NewNotification;
use crate::store::delivery::webhook_deliveries::NewDelivery;
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

// Every user told, in one round trip (a comma-separated list of ids).
const NOTIFY_PG: &str = "select pg_notify($1, u) from unnest(string_to_array($2, ',')) as u";

/// The channel on which PostgreSQL tells every instance that a user has something new; the
/// payload is the user's id.
pub const INBOX_CHANNEL: &str = "huying_inbox";

/// Rows a bulk statement writes at once (SQLite allows 32,766 bound values a statement).
const CHUNK: usize = 500;

/// Hands `events` over in one transaction: each one's channel rows are written and it is
/// marked delivered, together. For each, `false` when another relay delivered it first (nothing
/// of it written). One transaction and a few bulk statements a batch, not an event: under full
/// load every round trip waits its turn, and the relay must not fall behind the requests.
pub async fn hand_over(
    db: &Db,
    events: &[(&OutboxEvent, &Handover)],
    now: DateTime<Utc>,
) -> StoreResult<Vec<bool>> {
    // Only PostgreSQL has other instances to wake; SQLite's one process is told by the relay.
    let notify = matches!(db, Db::Postgres(_));
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let mut marked: HashSet<Uuid> = HashSet::with_capacity(events.len());
        for chunk in events.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::new("update outbox set delivered_at = ");
            q.push_bind(now)
                .push(", locked_until = null where delivered_at is null and id in (");
            let mut ids = q.separated(", ");
            for (e, _) in chunk {
                ids.push_bind(e.id);
            }
            q.push(") returning id");
            let got: Vec<Uuid> = q.build_query_scalar().fetch_all(&mut *tx).await?;
            marked.extend(got);
        }
        let handed: Vec<bool> = events.iter().map(|(e, _)| marked.contains(&e.id)).collect();
        let ours = || events.iter().filter(|(e, _)| marked.contains(&e.id)).map(|(_, h)| *h);
        let notes: Vec<&NewNotification> = ours().flat_map(|h| &h.notifications).collect();
        for chunk in notes.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::new(INSERT_NOTIFICATIONS);
            q.push_values(chunk, |mut b, n| {
                b.push_bind(n.id)
                    .push_bind(n.user_id)
                    .push_bind(n.community_id)
                    .push_bind(n.event_id)
                    .push_bind(n.kind.clone())
                    .push_bind(n.object_type.clone())
                    .push_bind(n.object_id)
                    .push_bind(Json(n.params.clone()))
                    .push_bind(n.created_at)
                    .push_bind(None::<DateTime<Utc>>);
            });
            q.build().execute(&mut *tx).await?;
        }
        let deliveries: Vec<&NewDelivery> = ours().flat_map(|h| &h.webhook_deliveries).collect();
        for chunk in deliveries.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::new(INSERT_DELIVERIES);
            q.push_values(chunk, |mut b, d| {
                b.push_bind(d.id)
                    .push_bind(d.webhook_id)
                    .push_bind(d.community_id)
                    .push_bind(d.event_id)
                    .push_bind(d.topic.clone())
                    .push_bind(d.body.clone())
                    .push_bind("pending")
                    .push_bind(0i64)
                    .push_bind(0i64)
                    .push_bind(d.created_at)
                    .push_bind(d.created_at)
                    .push_bind(d.created_at);
            });
            // The unique key makes a second hand-over of an event (which the mark already
            // prevents) write nothing.
            q.push(" on conflict (webhook_id, event_id) do nothing");
            q.build().execute(&mut *tx).await?;
        }
        for m in ours().flat_map(|h| &h.wechat_messages) {
            bind_wechat_message!(sqlx::query(INSERT_WECHAT_MESSAGE), m).execute(&mut *tx).await?;
        }
        if notify {
            let mut told: Vec<Uuid> = notes.iter().map(|n| n.user_id).collect();
            told.sort();
            told.dedup();
            if !told.is_empty() {
                let users: Vec<String> = told.iter().map(Uuid::to_string).collect();
                sqlx::query(NOTIFY_PG).bind(INBOX_CHANNEL).bind(users.join(",")).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(handed)
    })
}

const INSERT_NOTIFICATIONS: &str = "insert into notifications (id, user_id, community_id, event_id,
    kind, object_type, object_id, params, created_at, read_at) ";
// Pending, due at once: `next_attempt_at` is the hand-over's time.
const INSERT_DELIVERIES: &str = "insert into webhook_deliveries (id, webhook_id, community_id,
    event_id, topic, body, status, attempt_count, step, next_attempt_at, created_at, updated_at) ";

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
