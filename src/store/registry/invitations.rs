//! Invitations to a role (and a resident's record) in a community, accepted by the owner of an
//! account with a one-time code.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::role::Role;
use crate::store::accounts::users::GrantExec;
use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub role: Role,
    pub resident_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const INSERT: &str =
    "insert into invitations (id, community_id, role, resident_id, code_hash, created_by,
    created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8)";

pub async fn insert(db: &Db, r: &InvitationRow, code_hash: &str) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("invitation", r.id);
        sqlx::query(INSERT).bind(r.id).bind(r.community_id).bind(r.role).bind(r.resident_id)
            .bind(code_hash).bind(r.created_by).bind(r.created_at).bind(r.expires_at)
            .execute(&mut *tx).await?;
        tx.commit().await?;
    });
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationState {
    #[sqlx(flatten)]
    pub row: InvitationRow,
    pub accepted_by: Option<Uuid>,
    pub accepted_at: Option<DateTime<Utc>>,
}

const GET: &str =
    "select id, community_id, role, resident_id, created_by, created_at, expires_at, accepted_by,
    accepted_at from invitations where id = $1";

pub async fn get(db: &Db, id: Uuid) -> StoreResult<InvitationState> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

const TAKE: &str = "update invitations set accepted_by = $2, accepted_at = $3
    where code_hash = $1 and accepted_at is null and expires_at > $3
    returning id, community_id, role, resident_id, created_by, created_at, expires_at";
const LINK_RESIDENT: &str =
    "update residents set user_id = $2, version = version + 1, updated_at = $3
    where id = $1 and user_id is null and active";

/// Spends the invitation with this code for `user_id`: the role is granted and a resident's
/// record linked, all or nothing. `NotFound` for an unknown, spent or expired code;
/// `Guard("already_linked")` when the record got another account meanwhile.
pub async fn accept(
    db: &Db,
    code_hash: &str,
    user_id: Uuid,
    at: DateTime<Utc>,
) -> StoreResult<InvitationRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let inv: InvitationRow = sqlx::query_as(TAKE).bind(code_hash).bind(user_id).bind(at)
            .fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        if let Some(resident) = inv.resident_id {
            let n = sqlx::query(LINK_RESIDENT).bind(resident).bind(user_id).bind(at)
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::Guard("already_linked"));
            }
        }
        tx.ensure_grant(user_id, inv.role.as_str(), inv.community_id).await?;
        tx.commit().await?;
        Ok(inv)
    })
}
