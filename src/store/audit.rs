//! The audit log: who did what to which object, and every full read of personal data.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{Db, StoreResult, now, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: Uuid,
    pub community_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<Uuid>,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
}

pub struct NewAudit<'a> {
    pub community_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Option<Uuid>,
    pub reason: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

pub(crate) const INSERT: &str = "insert into audit_log (id, community_id, actor_id, action, object_type, object_id, reason, request_id, at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Writes `$a` (a `&NewAudit`) at `$at` on `$conn`, inside the caller's transaction.
macro_rules! write_audit {
    ($conn:expr, $a:expr, $at:expr) => {{
        let a: &$crate::store::audit::NewAudit<'_> = $a;
        sqlx::query($crate::store::audit::INSERT)
            .bind(uuid::Uuid::now_v7())
            .bind(a.community_id)
            .bind(a.actor_id)
            .bind(a.action)
            .bind(a.object_type)
            .bind(a.object_id)
            .bind(a.reason)
            .bind(a.request_id)
            .bind($at)
            .execute($conn)
            .await?;
    }};
}
pub(crate) use write_audit;

pub async fn insert(db: &Db, a: NewAudit<'_>) -> StoreResult<()> {
    on_db!(db, pool => {
        sqlx::query(INSERT).bind(Uuid::now_v7()).bind(a.community_id).bind(a.actor_id).bind(a.action)
            .bind(a.object_type).bind(a.object_id).bind(a.reason).bind(a.request_id).bind(now())
            .execute(pool).await?;
    });
    Ok(())
}

const LIST: &str = "select id, community_id, actor_id, action, object_type, object_id, reason, request_id, at from audit_log
    where community_id = $1 and ($2 is null or id > $2) and ($3 is null or object_id = $3)
      and ($4 is null or action = $4) and ($5 is null or actor_id = $5)
    order by id limit $6";

pub struct AuditFilter {
    pub community_id: Uuid,
    pub object_id: Option<Uuid>,
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
}

pub async fn list(
    db: &Db,
    f: &AuditFilter,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<AuditRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST).bind(f.community_id).bind(after).bind(f.object_id)
        .bind(&f.action).bind(f.actor_id).bind(limit).fetch_all(pool).await?))
}
