//! The inbox: one row per person told about an event, read and marked read by its owner only.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::{Db, StoreResult, on_db};

#[derive(Debug, Clone)]
pub struct NewNotification {
    pub id: Uuid,
    pub user_id: Uuid,
    pub community_id: Option<Uuid>,
    pub event_id: Uuid,
    pub kind: String,
    pub object_type: String,
    pub object_id: Uuid,
    pub params: Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub community_id: Option<Uuid>,
    pub event_id: Uuid,
    pub kind: String,
    pub object_type: String,
    pub object_id: Uuid,
    pub params: Json<Value>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

// A relay that lost its lease mid-way and a second one never both write: the event's mark is
// taken first in the same transaction. The unique key is the last guard.

const PAGE: &str = "select id, user_id, community_id, event_id, kind, object_type, object_id, params, created_at, read_at
    from notifications where user_id = $1 and ($2 is null or id < $2) and (not $3 or read_at is null)
    order by id desc limit $4";

/// A user's notifications, newest first, before `before`.
pub async fn page(
    db: &Db,
    user_id: Uuid,
    before: Option<Uuid>,
    unread_only: bool,
    limit: i64,
) -> StoreResult<Vec<NotificationRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(PAGE).bind(user_id).bind(before).bind(unread_only).bind(limit)
        .fetch_all(pool).await?))
}

const AFTER: &str = "select id, user_id, community_id, event_id, kind, object_type, object_id, params, created_at, read_at
    from notifications where user_id = $1 and ($2 is null or id > $2) order by id limit $3";

/// A user's notifications after `after`, oldest first: what a live stream sends.
pub async fn after(
    db: &Db,
    user_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<NotificationRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(AFTER).bind(user_id).bind(after).bind(limit).fetch_all(pool).await?))
}

const UNREAD: &str = "select count(*) from notifications where user_id = $1 and read_at is null";

pub async fn unread_count(db: &Db, user_id: Uuid) -> StoreResult<i64> {
    on_db!(db, pool => Ok(sqlx::query_scalar(UNREAD).bind(user_id).fetch_one(pool).await?))
}

const MARK_READ: &str = "update notifications set read_at = coalesce(read_at, $3) where id = $1 and user_id = $2
    returning id, user_id, community_id, event_id, kind, object_type, object_id, params, created_at, read_at";

/// Marks one of the user's notifications read (the first time only). `NotFound` when it is not
/// theirs.
pub async fn mark_read(
    db: &Db,
    id: Uuid,
    user_id: Uuid,
    at: DateTime<Utc>,
) -> StoreResult<NotificationRow> {
    on_db!(db, pool => Ok(sqlx::query_as(MARK_READ).bind(id).bind(user_id).bind(at).fetch_one(pool).await?))
}

const MARK_ALL: &str =
    "update notifications set read_at = $2 where user_id = $1 and read_at is null and id <= $3";

/// Marks the user's notifications up to `upto` read; how many were unread.
pub async fn mark_all_read(
    db: &Db,
    user_id: Uuid,
    upto: Uuid,
    at: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(
        on_db!(db, pool => sqlx::query(MARK_ALL).bind(user_id).bind(at).bind(upto).execute(pool).await?.rows_affected()),
    )
}
