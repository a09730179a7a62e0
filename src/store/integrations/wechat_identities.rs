//! People's WeChat identities: the openid a user has in an app. One per user; an openid is one
//! user's in its app.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdentityRow {
    pub user_id: Uuid,
    /// The app's row id.
    pub app: Uuid,
    /// WeChat's app id (`wx…`).
    pub app_id: String,
    pub openid: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The person's identity in an active app serving a community, for the sender.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    pub app: Uuid,
    pub openid: String,
}

const GET: &str =
    "select i.user_id, i.app_id as app, a.app_id, i.openid, i.created_at, i.updated_at
    from wechat_identities i join wechat_apps a on a.id = i.app_id where i.user_id = $1";
const UPSERT: &str =
    "insert into wechat_identities (user_id, app_id, openid, created_at, updated_at)
    values ($1, $2, $3, $4, $4)
    on conflict (user_id) do update set app_id = excluded.app_id, openid = excluded.openid,
        updated_at = excluded.updated_at";
const DELETE: &str = "delete from wechat_identities where user_id = $1";
const RECIPIENT: &str = "select i.app_id as app, i.openid from wechat_identities i
    join wechat_apps a on a.id = i.app_id and a.active
    join wechat_app_communities ac on ac.app_id = a.id and ac.community_id = $2
    where i.user_id = $1";

pub async fn get(db: &Db, user_id: Uuid) -> StoreResult<Option<IdentityRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(user_id).fetch_optional(pool).await?))
}

/// Records (or replaces) the user's identity. `Conflict` when the openid is another user's.
pub async fn put(
    db: &Db,
    user_id: Uuid,
    app: Uuid,
    openid: &str,
    now: DateTime<Utc>,
) -> StoreResult<IdentityRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(UPSERT).bind(user_id).bind(app).bind(openid).bind(now)
            .execute(&mut *tx).await?;
        let row = sqlx::query_as(GET).bind(user_id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    })
}

/// Forgets the user's identity; `NotFound` when there was none.
pub async fn delete(db: &Db, user_id: Uuid) -> StoreResult<()> {
    let n =
        on_db!(db, pool => sqlx::query(DELETE).bind(user_id).execute(pool).await?.rows_affected());
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Where a message to `user_id` about community `community_id` goes, if anywhere.
pub async fn recipient(
    db: &Db,
    user_id: Uuid,
    community_id: Uuid,
) -> StoreResult<Option<Recipient>> {
    on_db!(db, pool => Ok(sqlx::query_as(RECIPIENT).bind(user_id).bind(community_id)
        .fetch_optional(pool).await?))
}

/// A user and where a message to them goes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecipient {
    pub user_id: Uuid,
    pub app: Uuid,
    pub openid: String,
}

/// Ids bound in one statement: a call-out may tell ten thousand people at once.
const RECIPIENTS_CHUNK: usize = 1000;

/// Where messages to `user_ids` about `community_id` go, for those who can be reached; a few
/// statements whatever their number, in `user_ids`' order.
pub async fn recipients(
    db: &Db,
    user_ids: &[Uuid],
    community_id: Uuid,
) -> StoreResult<Vec<UserRecipient>> {
    let mut out: Vec<UserRecipient> = Vec::new();
    for chunk in user_ids.chunks(RECIPIENTS_CHUNK) {
        let rows: Vec<UserRecipient> = on_db!(db, pool => {
            let mut q = sqlx::QueryBuilder::new("select i.user_id, i.app_id as app, i.openid
                from wechat_identities i join wechat_apps a on a.id = i.app_id and a.active
                join wechat_app_communities ac on ac.app_id = a.id and ac.community_id = ");
            q.push_bind(community_id);
            q.push(" where i.user_id in (");
            let mut l = q.separated(", ");
            for u in chunk {
                l.push_bind(*u);
            }
            q.push(")");
            q.build_query_as().fetch_all(pool).await?
        });
        out.extend(rows);
    }
    let order: std::collections::HashMap<Uuid, usize> =
        user_ids.iter().enumerate().map(|(i, u)| (*u, i)).collect();
    out.sort_by_key(|r| order.get(&r.user_id).copied().unwrap_or(usize::MAX));
    Ok(out)
}
