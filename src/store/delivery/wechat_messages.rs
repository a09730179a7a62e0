//! The queue of WeChat subscription messages. The relay inserts them with the event's hand-over;
//! senders lease due ones (`FOR UPDATE SKIP LOCKED` on PostgreSQL; under `BEGIN IMMEDIATE` on
//! SQLite) by moving `next_attempt_at` past the lease and counting the attempt, so any number of
//! senders run at once, and a crashed sender's message is due again when its lease runs out.
//! An outcome is written only by the attempt that holds the message (`attempts` unchanged).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::wechat_message::MessageStatus;
use crate::store::{Db, StoreResult, lease_rows, on_db};

#[derive(Debug, Clone)]
pub struct NewWechatMessage {
    pub id: Uuid,
    pub event_id: Uuid,
    pub community_id: Uuid,
    pub user_id: Uuid,
    /// The app's row id.
    pub app: Uuid,
    pub openid: String,
    pub kind: String,
    pub object_type: String,
    pub object_id: Uuid,
    pub template_id: String,
    pub page: String,
    pub data: Value,
    pub created_at: DateTime<Utc>,
}

pub(crate) const INSERT_WECHAT_MESSAGE: &str = "insert into wechat_messages (id, event_id, community_id,
        user_id, app_id, openid, kind, object_type, object_id, template_id, page, data, status,
        attempts, next_attempt_at, last_error, sent_at, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', 0, $13, null, null, $13, $13)";

macro_rules! bind_wechat_message {
    ($q:expr, $m:expr) => {
        $q.bind($m.id)
            .bind($m.event_id)
            .bind($m.community_id)
            .bind($m.user_id)
            .bind($m.app)
            .bind(&$m.openid)
            .bind(&$m.kind)
            .bind(&$m.object_type)
            .bind($m.object_id)
            .bind(&$m.template_id)
            .bind(&$m.page)
            .bind(sqlx::types::Json(&$m.data))
            .bind($m.created_at)
    };
}
pub(crate) use bind_wechat_message;

/// A message as a sender holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Leased {
    pub id: Uuid,
    pub app: Uuid,
    pub openid: String,
    pub template_id: String,
    pub page: String,
    pub data: Json<Value>,
    /// This attempt's number; the sender's hold on the message.
    pub attempts: i32,
}

const LEASE_PG: &str =
    "update wechat_messages set next_attempt_at = $2, attempts = attempts + 1, updated_at = $1
    where id in (select id from wechat_messages where status = 'pending' and next_attempt_at <= $1
                 order by next_attempt_at limit $3 for update skip locked)
    returning id, app_id as app, openid, template_id, page, data, attempts";
const LEASE_SQLITE: &str =
    "update wechat_messages set next_attempt_at = $2, attempts = attempts + 1, updated_at = $1
    where id in (select id from wechat_messages where status = 'pending' and next_attempt_at <= $1
                 order by next_attempt_at limit $3)
    returning id, app_id as app, openid, template_id, page, data, attempts";

/// Leases up to `limit` messages due at `now` until `lease_until`, counting an attempt on each.
pub async fn lease(
    db: &Db,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<Leased>> {
    lease_rows(db, (LEASE_PG, LEASE_SQLITE), now, lease_until, limit).await
}

/// An attempt's outcome.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent,
    /// Finished without success (`refused` or `failed`).
    Final(MessageStatus, String),
    RetryAt(DateTime<Utc>, String),
}

const SENT: &str =
    "update wechat_messages set status = 'sent', sent_at = $3, next_attempt_at = null,
        last_error = null, updated_at = $3
    where id = $1 and attempts = $2 and status = 'pending'";
const FINAL: &str = "update wechat_messages set status = $4, next_attempt_at = null, last_error = $5, updated_at = $3
    where id = $1 and attempts = $2 and status = 'pending'";
const RETRY: &str =
    "update wechat_messages set next_attempt_at = $4, last_error = $5, updated_at = $3
    where id = $1 and attempts = $2 and status = 'pending'";

/// Records what attempt `attempt` of message `id` came to; `false` when the attempt no longer
/// holds it (its lease ran out and another took it).
pub async fn finish(
    db: &Db,
    id: Uuid,
    attempt: i32,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = on_db!(db, pool => match outcome {
        Outcome::Sent => sqlx::query(SENT).bind(id).bind(attempt).bind(now).execute(pool).await?,
        Outcome::Final(status, error) => sqlx::query(FINAL).bind(id).bind(attempt).bind(now)
            .bind(status.as_str()).bind(error).execute(pool).await?,
        Outcome::RetryAt(at, error) => sqlx::query(RETRY).bind(id).bind(attempt).bind(now)
            .bind(at).bind(error).execute(pool).await?,
    }
    .rows_affected());
    Ok(n == 1)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub community_id: Uuid,
    pub user_id: Uuid,
    /// WeChat's app id (`wx…`).
    pub app_id: String,
    pub kind: String,
    pub object_type: String,
    pub object_id: Uuid,
    pub template_id: String,
    pub status: MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const PAGE: &str = "select m.id, m.event_id, m.community_id, m.user_id, a.app_id, m.kind, m.object_type,
        m.object_id, m.template_id, m.status, m.attempts, m.next_attempt_at, m.last_error, m.sent_at,
        m.created_at, m.updated_at
    from wechat_messages m join wechat_apps a on a.id = m.app_id
    where m.community_id = $1 and ($2 is null or m.id < $2) and ($3 is null or m.status = $3)
      and ($4 is null or m.user_id = $4)
    order by m.id desc limit $5";

/// A community's messages, newest first, before `before`.
pub async fn page(
    db: &Db,
    community_id: Uuid,
    before: Option<Uuid>,
    status: Option<MessageStatus>,
    user_id: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<MessageRow>> {
    let status = status.map(|s| s.as_str());
    on_db!(db, pool => Ok(sqlx::query_as(PAGE).bind(community_id).bind(before).bind(status)
        .bind(user_id).bind(limit).fetch_all(pool).await?))
}

const PRUNE: &str = "delete from wechat_messages where id in
    (select id from wechat_messages where status <> 'pending' and updated_at < $1 order by updated_at limit $2)";

/// Deletes up to `limit` messages finished before `before`; how many went.
pub async fn prune(db: &Db, before: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    Ok(
        on_db!(db, pool => sqlx::query(PRUNE).bind(before).bind(limit).execute(pool).await?.rows_affected()),
    )
}
