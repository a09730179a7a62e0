//! Timers that survive restarts. A sweeper leases the due ones: the lease is taken in one
//! statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer, under
//! `BEGIN IMMEDIATE`), so two instances never hold the same timer, and a crashed holder's lease
//! simply runs out and the timer is taken again.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueTimer {
    pub id: Uuid,
    pub community_id: Uuid,
    pub kind: String,
    pub request_id: Uuid,
    pub due_at: DateTime<Utc>,
}

const LEASE_PG: &str = "update timers set locked_until = $2
    where id in (select id from timers where due_at <= $1 and (locked_until is null or locked_until <= $1)
                 order by due_at limit $3 for update skip locked)
    returning id, community_id, kind, request_id, due_at";
const LEASE_SQLITE: &str = "update timers set locked_until = $2
    where id in (select id from timers where due_at <= $1 and (locked_until is null or locked_until <= $1)
                 order by due_at limit $3)
    returning id, community_id, kind, request_id, due_at";
const DONE: &str = "delete from timers where id = $1";
const PENDING: &str = "select count(*) from timers where request_id = $1 and kind = $2";

/// Leases up to `limit` timers due at `now` until `lease_until`.
pub async fn lease_due(
    db: &Db,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<DueTimer>> {
    let mut rows: Vec<DueTimer> = match db {
        Db::Postgres(pool) => {
            sqlx::query_as(LEASE_PG)
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
        Db::Sqlite(pool) => {
            let mut tx = pool.begin_write().await?;
            let rows = sqlx::query_as(LEASE_SQLITE)
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            rows
        }
    };
    rows.sort_by_key(|t| t.due_at);
    Ok(rows)
}

/// The timer's work is done (or was no longer needed).
pub async fn done(db: &Db, id: Uuid) -> StoreResult<()> {
    on_db!(db, pool => { sqlx::query(DONE).bind(id).execute(pool).await?; });
    Ok(())
}

pub async fn pending(db: &Db, request_id: Uuid, kind: &str) -> StoreResult<i64> {
    on_db!(db, pool => Ok(sqlx::query_scalar(PENDING).bind(request_id).bind(kind).fetch_one(pool).await?))
}
