//! Failed-login counters per account and per client address. The policy lives in
//! `services::accounts`; this only loads and saves the counters.

use chrono::{DateTime, Utc};

use crate::store::{Db, StoreResult, on_db};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ThrottleRow {
    pub key: String,
    pub failures: i64,
    pub window_started_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

const GET: &str = "select key, failures, window_started_at, locked_until from login_throttle where key = $1 or key = $2";

pub async fn get_pair(db: &Db, a: &str, b: &str) -> StoreResult<Vec<ThrottleRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(a).bind(b).fetch_all(pool).await?))
}

const PUT: &str = "insert into login_throttle (key, failures, window_started_at, locked_until) values ($1, $2, $3, $4)
    on conflict (key) do update set failures = excluded.failures, window_started_at = excluded.window_started_at,
        locked_until = excluded.locked_until";

pub async fn put(db: &Db, row: &ThrottleRow) -> StoreResult<()> {
    on_db!(db, pool => {
        sqlx::query(PUT).bind(&row.key).bind(row.failures).bind(row.window_started_at).bind(row.locked_until)
            .execute(pool).await?;
    });
    Ok(())
}

const CLEAR: &str = "delete from login_throttle where key = $1";

pub async fn clear(db: &Db, key: &str) -> StoreResult<()> {
    on_db!(db, pool => { sqlx::query(CLEAR).bind(key).execute(pool).await?; });
    Ok(())
}
