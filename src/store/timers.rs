//! Timers that survive restarts. A sweeper leases the due ones: the lease is taken in one
//! statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer, under
//! `BEGIN IMMEDIATE`), so two instances never hold the same timer, and a crashed holder's lease
//! simply runs out and the timer is taken again.
//!
//! The lease's end (`locked_until`) doubles as the holder's token: finishing or handing back a
//! timer touches it only while that lease is still the timer's, so a holder whose lease ran out
//! (and whose timer someone else took) cannot delete or release the new holder's lease.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreResult, lease_rows, on_db};

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
const DONE: &str = "delete from timers where id = $1 and locked_until = $2";
const RELEASE: &str = "update timers set locked_until = null where id = $1 and locked_until = $2";
const PENDING: &str = "select count(*) from timers where request_id = $1 and kind = $2";

/// Leases up to `limit` timers due at `now` until `lease_until`.
pub async fn lease_due(
    db: &Db,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<DueTimer>> {
    let mut rows: Vec<DueTimer> =
        lease_rows(db, (LEASE_PG, LEASE_SQLITE), now, lease_until, limit).await?;
    rows.sort_by_key(|t| t.due_at);
    Ok(rows)
}

/// The timer's work is done (or was no longer needed), under the lease ending `lease_until`.
pub async fn done(db: &Db, id: Uuid, lease_until: DateTime<Utc>) -> StoreResult<()> {
    under_lease(db, DONE, id, lease_until).await
}

/// Hands a leased timer back unprocessed, so that any instance may take it at once.
pub async fn release(db: &Db, id: Uuid, lease_until: DateTime<Utc>) -> StoreResult<()> {
    under_lease(db, RELEASE, id, lease_until).await
}

async fn under_lease(
    db: &Db,
    sql: &'static str,
    id: Uuid,
    lease_until: DateTime<Utc>,
) -> StoreResult<()> {
    match db {
        Db::Postgres(pool) => {
            sqlx::query(sql)
                .bind(id)
                .bind(lease_until)
                .execute(pool)
                .await?;
        }
        // In this process's turn to write, like the steps it runs beside, rather than in
        // SQLite's busy handler.
        Db::Sqlite(pool) => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(sql)
                .bind(id)
                .bind(lease_until)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

pub async fn pending(db: &Db, request_id: Uuid, kind: &str) -> StoreResult<i64> {
    on_db!(db, pool => Ok(sqlx::query_scalar(PENDING).bind(request_id).bind(kind).fetch_one(pool).await?))
}
