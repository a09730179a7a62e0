//! Fingerprints of the keys the database was set up with (see the migration).

use crate::store::{Db, StoreResult, now, on_db};

const RECORD: &str = "insert into key_checks (name, fingerprint, recorded_at) values ($1, $2, $3)
    on conflict (name) do nothing";
const GET: &str = "select fingerprint from key_checks where name = $1";
const REPLACE: &str = "insert into key_checks (name, fingerprint, recorded_at) values ($1, $2, $3)
    on conflict (name) do update set fingerprint = excluded.fingerprint, recorded_at = excluded.recorded_at";

/// Records `fingerprint` under `name` unless one is recorded already; returns the recorded one.
pub async fn record_or_get(db: &Db, name: &str, fingerprint: &str) -> StoreResult<String> {
    let t = now();
    on_db!(db, pool => {
        sqlx::query(RECORD).bind(name).bind(fingerprint).bind(t).execute(pool).await?;
        Ok(sqlx::query_scalar(GET).bind(name).fetch_one(pool).await?)
    })
}

/// After a deliberate rotation: the new key's fingerprint replaces the old one.
pub async fn replace(db: &Db, name: &str, fingerprint: &str) -> StoreResult<()> {
    let t = now();
    on_db!(db, pool => {
        sqlx::query(REPLACE).bind(name).bind(fingerprint).bind(t).execute(pool).await?;
    });
    Ok(())
}
