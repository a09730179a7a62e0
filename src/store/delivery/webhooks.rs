//! A community's webhooks. Turning one off parks its waiting deliveries (they keep their place
//! but are not due); turning it on again makes them due at once.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreResult, missing_or_stale, on_db, stale_or_missing};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub url: String,
    pub event_kinds: Json<Vec<String>>,
    pub description: Option<String>,
    pub active: bool,
    /// The signing secret, encrypted with the data key.
    pub secret: Vec<u8>,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const INSERT: &str = "insert into webhooks (id, community_id, url, event_kinds, description,
    active, secret, disabled_reason, disabled_at, version, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, null, null, 1, $8, $8)";
const UPDATE: &str = "update webhooks set url = $3, event_kinds = $4, description = $5,
    active = $6, disabled_reason = case when $6 then null else disabled_reason end,
    disabled_at = case when $6 then null else disabled_at end,
    version = version + 1, updated_at = $7 where id = $1 and version = $2";
const GET: &str = "select id, community_id, url, event_kinds, description, active, secret,
    disabled_reason, disabled_at, version, created_at, updated_at from webhooks where id = $1";
const EXISTS: &str = "select count(*) from webhooks where id = $1";
const LIST: &str = "select id, community_id, url, event_kinds, description, active, secret,
    disabled_reason, disabled_at, version, created_at, updated_at from webhooks
    where community_id = $1 and ($2 is null or id > $2) order by id limit $3";
const DELETE: &str = "delete from webhooks where id = $1 and ($2 is null or version = $2)";
const PARK: &str = "update webhook_deliveries set next_attempt_at = null
    where webhook_id = $1 and status = 'pending' and next_attempt_at is not null";
const UNPARK: &str = "update webhook_deliveries set next_attempt_at = $2, updated_at = $2
    where webhook_id = $1 and status = 'pending' and next_attempt_at is null";
const FOLLOWING: &str =
    "select id, event_kinds from webhooks where community_id = $1 and active order by id";

pub async fn insert(db: &Db, w: &WebhookRow) -> StoreResult<WebhookRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("webhook", w.id);
        sqlx::query(INSERT).bind(w.id).bind(w.community_id).bind(&w.url).bind(&w.event_kinds)
            .bind(&w.description).bind(w.active).bind(&w.secret).bind(w.created_at)
            .execute(&mut *tx).await?;
        let saved = sqlx::query_as(GET).bind(w.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(saved)
    })
}

/// Saves the client's fields if the version is still `expected_version`; when `active`
/// changed, parks or unparks the webhook's waiting deliveries in the same transaction.
pub async fn update(
    db: &Db,
    w: &WebhookRow,
    expected_version: i64,
    active_changed: bool,
    now: DateTime<Utc>,
) -> StoreResult<WebhookRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("webhook", w.id);
        let n = sqlx::query(UPDATE).bind(w.id).bind(expected_version).bind(&w.url)
            .bind(&w.event_kinds).bind(&w.description).bind(w.active).bind(now)
            .execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            let exists: i64 = sqlx::query_scalar(EXISTS).bind(w.id).fetch_one(&mut *tx).await?;
            return Err(stale_or_missing(exists > 0));
        }
        if active_changed {
            let q = if w.active { UNPARK } else { PARK };
            sqlx::query(q).bind(w.id).bind(now).execute(&mut *tx).await?;
        }
        let saved = sqlx::query_as(GET).bind(w.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(saved)
    })
}

/// Deletes the webhook with its deliveries and their attempts.
pub async fn delete(db: &Db, id: Uuid, expected_version: Option<i64>) -> StoreResult<()> {
    let n = on_db!(db, pool => sqlx::query(DELETE).bind(id).bind(expected_version)
        .execute(pool).await?.rows_affected());
    if n == 0 {
        return Err(missing_or_stale(db, EXISTS, id).await);
    }
    Ok(())
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<WebhookRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

pub async fn list(
    db: &Db,
    community_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<WebhookRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST).bind(community_id).bind(after).bind(limit)
        .fetch_all(pool).await?))
}

/// The active webhooks of a community and the kinds each follows: what the relay matches an
/// event against.
pub async fn following(db: &Db, community_id: Uuid) -> StoreResult<Vec<(Uuid, Json<Vec<String>>)>> {
    on_db!(db, pool => Ok(sqlx::query_as(FOLLOWING).bind(community_id).fetch_all(pool).await?))
}
