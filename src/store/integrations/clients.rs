//! Integration clients (`integration_clients`) and the `users` row each stands on: created
//! together, revoked together. The secret is only ever seen here as its keyed hash.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreError, StoreResult, now, on_db, stale_or_missing};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub name: String,
    pub scopes: String,
    pub rate_per_minute: i64,
    pub burst: i64,
    pub secret_generation: i64,
    pub version: i64,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub struct NewClient<'a> {
    pub id: Uuid,
    pub community_id: Uuid,
    pub name: &'a str,
    pub scopes: &'a str,
    pub rate_per_minute: i64,
    pub burst: i64,
    pub secret_hash: &'a str,
    pub created_by: Uuid,
}

pub struct ClientChange<'a> {
    pub name: &'a str,
    pub scopes: &'a str,
    pub rate_per_minute: i64,
    pub burst: i64,
}

#[cfg(test)]
const COLUMNS: &str = "id, community_id, name, scopes, rate_per_minute, burst, secret_generation,
    version, created_by, created_at, updated_at, rotated_at, revoked_at";

// The account's login can never be typed by a person (usernames have no ':'), and its password
// hash parses as none, so it matches no password.
const INSERT_USER: &str =
    "insert into users (id, username, phone, display_name, password_hash, active, version,
        created_at, updated_at, search_key)
    values ($1, $2, null, $3, '!', true, 1, $4, $4, $5)";
const INSERT_GRANT: &str =
    "insert into role_grants (id, user_id, role, community_id, granted_by, created_at)
    values ($1, $2, 'integration', $3, $4, $5)";
const INSERT: &str =
    "insert into integration_clients (id, community_id, name, scopes, rate_per_minute, burst,
        secret_hash, secret_generation, version, created_by, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, 1, 1, $8, $9, $9)
    returning id, community_id, name, scopes, rate_per_minute, burst, secret_generation,
    version, created_by, created_at, updated_at, rotated_at, revoked_at";
const GET: &str =
    "select id, community_id, name, scopes, rate_per_minute, burst, secret_generation,
    version, created_by, created_at, updated_at, rotated_at, revoked_at
    from integration_clients where id = $1";
const BY_SECRET: &str =
    "select id, community_id, name, scopes, rate_per_minute, burst, secret_generation,
    version, created_by, created_at, updated_at, rotated_at, revoked_at
    from integration_clients where secret_hash = $1 and revoked_at is null";
const LIST: &str =
    "select id, community_id, name, scopes, rate_per_minute, burst, secret_generation,
    version, created_by, created_at, updated_at, rotated_at, revoked_at
    from integration_clients
    where community_id = $1 and ($2 is null or id > $2) and ($3 or revoked_at is null)
    order by id limit $4";
const UPDATE: &str = "update integration_clients set name = $3, scopes = $4, rate_per_minute = $5,
        burst = $6, version = version + 1, updated_at = $7
    where id = $1 and version = $2 and revoked_at is null
    returning id, community_id, name, scopes, rate_per_minute, burst, secret_generation,
    version, created_by, created_at, updated_at, rotated_at, revoked_at";
const ROTATE: &str = "update integration_clients set secret_hash = $2,
        secret_generation = secret_generation + 1, version = version + 1, rotated_at = $3,
        updated_at = $3
    where id = $1 and revoked_at is null
    returning id, community_id, name, scopes, rate_per_minute, burst, secret_generation,
    version, created_by, created_at, updated_at, rotated_at, revoked_at";
const REVOKE: &str =
    "update integration_clients set revoked_at = $2, version = version + 1, updated_at = $2
    where id = $1 and revoked_at is null";
const DEACTIVATE_USER: &str =
    "update users set active = false, version = version + 1, updated_at = $2 where id = $1";
const RENAME_USER: &str =
    "update users set display_name = $2, search_key = $3, updated_at = $4 where id = $1";

/// `client:` and the first 25 hex digits of the id (its time and 48 random bits): within the 32
/// characters a username has, and unique in practice.
pub(crate) fn username(id: Uuid) -> String {
    format!("client:{}", &id.simple().to_string()[..25])
}

fn search_key(name: &str, id: Uuid) -> String {
    crate::domain::text::search_key([name, username(id).as_str()])
}

/// Creates the client, its account and the account's `integration` role, atomically.
pub async fn create(db: &Db, c: &NewClient<'_>) -> StoreResult<ClientRow> {
    let t = now();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("integration_client", c.id);
        sqlx::query(INSERT_USER).bind(c.id).bind(username(c.id)).bind(c.name).bind(t)
            .bind(search_key(c.name, c.id)).execute(&mut *tx).await?;
        sqlx::query(INSERT_GRANT).bind(Uuid::now_v7()).bind(c.id).bind(c.community_id)
            .bind(c.created_by).bind(t).execute(&mut *tx).await?;
        let row: ClientRow = sqlx::query_as(INSERT).bind(c.id).bind(c.community_id).bind(c.name)
            .bind(c.scopes).bind(c.rate_per_minute).bind(c.burst).bind(c.secret_hash)
            .bind(c.created_by).bind(t).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    })
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<ClientRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

/// The unrevoked client whose secret has this hash.
pub async fn find_by_secret_hash(db: &Db, hash: &str) -> StoreResult<Option<ClientRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(BY_SECRET).bind(hash).fetch_optional(pool).await?))
}

pub async fn list(
    db: &Db,
    community_id: Uuid,
    after: Option<Uuid>,
    include_revoked: bool,
    limit: i64,
) -> StoreResult<Vec<ClientRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST).bind(community_id).bind(after)
        .bind(include_revoked).bind(limit).fetch_all(pool).await?))
}

/// Why a conditional change of client `id` wrote nothing: gone, revoked, or another version.
async fn refused(db: &Db, id: Uuid) -> StoreError {
    match get(db, id).await {
        Ok(r) if r.revoked_at.is_some() => StoreError::Guard("client_revoked"),
        Ok(_) => stale_or_missing(true),
        Err(StoreError::NotFound) => stale_or_missing(false),
        Err(e) => e,
    }
}

/// Changes an unrevoked client at `version` (and its account's name).
pub async fn update(
    db: &Db,
    id: Uuid,
    version: i64,
    c: &ClientChange<'_>,
) -> StoreResult<ClientRow> {
    let t = now();
    let row: Option<ClientRow> = on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("integration_client", id);
        let row: Option<ClientRow> = sqlx::query_as(UPDATE).bind(id).bind(version).bind(c.name)
            .bind(c.scopes).bind(c.rate_per_minute).bind(c.burst).bind(t)
            .fetch_optional(&mut *tx).await?;
        if row.is_some() {
            sqlx::query(RENAME_USER).bind(id).bind(c.name).bind(search_key(c.name, id)).bind(t)
                .execute(&mut *tx).await?;
            tx.commit().await?;
        }
        row
    });
    match row {
        Some(r) => Ok(r),
        None => Err(refused(db, id).await),
    }
}

/// Replaces the secret of an unrevoked client; the generation moves on, ending older tokens.
pub async fn rotate(db: &Db, id: Uuid, secret_hash: &str) -> StoreResult<ClientRow> {
    let t = now();
    let row: Option<ClientRow> = on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("integration_client", id);
        let row: Option<ClientRow> = sqlx::query_as(ROTATE).bind(id).bind(secret_hash).bind(t)
            .fetch_optional(&mut *tx).await?;
        if row.is_some() {
            tx.commit().await?;
        }
        row
    });
    match row {
        Some(r) => Ok(r),
        None => Err(refused(db, id).await),
    }
}

/// Revokes the client and disables its account. `false` when it was already revoked.
pub async fn revoke(db: &Db, id: Uuid) -> StoreResult<bool> {
    let t = now();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("integration_client", id);
        let n = sqlx::query(REVOKE).bind(id).bind(t).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Ok(false);
        }
        sqlx::query(DEACTIVATE_USER).bind(id).bind(t).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_read_names_the_same_columns() {
        for q in [
            super::GET,
            super::BY_SECRET,
            super::LIST,
            super::UPDATE,
            super::ROTATE,
            super::INSERT,
        ] {
            let norm: String = q.split_whitespace().collect::<Vec<_>>().join(" ");
            let cols: String = super::COLUMNS
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            assert!(norm.contains(&cols), "{q}");
        }
    }
}
