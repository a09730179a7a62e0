//! Refresh tokens, stored as hashes, grouped in families for reuse detection.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreResult, now, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    family_id: Uuid,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The old token is spent; the new one belongs to the same family.
    Rotated { user_id: Uuid, family_id: Uuid },
    /// The token was already used or revoked: the whole family is now revoked.
    Reused,
    /// Unknown or expired.
    Invalid,
}

pub(crate) const INSERT: &str =
    "insert into refresh_tokens (id, user_id, family_id, token_hash, expires_at, created_at)
    values ($1, $2, $3, $4, $5, $6)";

pub async fn insert(
    db: &Db,
    user_id: Uuid,
    family_id: Uuid,
    hash: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    on_db!(db, pool => {
        sqlx::query(INSERT).bind(Uuid::now_v7()).bind(user_id).bind(family_id).bind(hash)
            .bind(expires_at).bind(now()).execute(pool).await?;
    });
    Ok(())
}

const BY_HASH: &str = "select id, user_id, family_id, expires_at, used_at, revoked_at from refresh_tokens where token_hash = $1";
const SPEND: &str = "update refresh_tokens set used_at = $2 where id = $1 and used_at is null and revoked_at is null";
const REVOKE_FAMILY: &str =
    "update refresh_tokens set revoked_at = $2 where family_id = $1 and revoked_at is null";

/// Spends `old_hash` and stores `new_hash` in its family, in one transaction. A token that
/// was already spent (or loses a race to be spent) revokes its family.
pub async fn rotate(
    db: &Db,
    old_hash: &str,
    new_hash: &str,
    new_expires: DateTime<Utc>,
) -> StoreResult<Rotation> {
    let t = now();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row: Option<TokenRow> = sqlx::query_as(BY_HASH).bind(old_hash).fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Ok(Rotation::Invalid) };
        if row.used_at.is_some() || row.revoked_at.is_some() {
            sqlx::query(REVOKE_FAMILY).bind(row.family_id).bind(t).execute(&mut *tx).await?;
            tx.commit().await?;
            return Ok(Rotation::Reused);
        }
        if row.expires_at <= t {
            return Ok(Rotation::Invalid);
        }
        let spent = sqlx::query(SPEND).bind(row.id).bind(t).execute(&mut *tx).await?.rows_affected();
        if spent == 0 {
            sqlx::query(REVOKE_FAMILY).bind(row.family_id).bind(t).execute(&mut *tx).await?;
            tx.commit().await?;
            return Ok(Rotation::Reused);
        }
        sqlx::query(INSERT).bind(Uuid::now_v7()).bind(row.user_id).bind(row.family_id).bind(new_hash)
            .bind(new_expires).bind(t).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Rotation::Rotated { user_id: row.user_id, family_id: row.family_id })
    })
}

/// Logout: revokes the family of the presented token. Returns the owner when it existed.
pub async fn revoke_family_of(db: &Db, hash: &str) -> StoreResult<Option<Uuid>> {
    let t = now();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row: Option<TokenRow> = sqlx::query_as(BY_HASH).bind(hash).fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Ok(None) };
        sqlx::query(REVOKE_FAMILY).bind(row.family_id).bind(t).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(row.user_id))
    })
}
