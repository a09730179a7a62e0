//! The mini-program sign-in: binding tickets, finding who an openid or a verified phone belongs
//! to, and binding (with the account a resident gets when they first sign in) in one
//! transaction.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

/// A live binding ticket: what WeChat said about the person who signed in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketRow {
    /// The app's row id.
    pub app: Uuid,
    pub openid: String,
    pub unionid: Option<String>,
}

const INSERT_TICKET: &str =
    "insert into wechat_binding_tickets (hash, app_id, openid, unionid, expires_at, created_at)
    values ($1, $2, $3, $4, $5, $6)";
const PEEK_TICKET: &str = "select app_id as app, openid, unionid from wechat_binding_tickets
    where hash = $1 and expires_at > $2";
// One statement takes it: of two binds with the same ticket, one deletes the row and the other
// finds nothing. An expired ticket is left for the pruning.
const TAKE_TICKET: &str = "delete from wechat_binding_tickets where hash = $1 and expires_at > $2
    returning app_id as app, openid, unionid";
const PRUNE_TICKETS: &str = "delete from wechat_binding_tickets where hash in
    (select hash from wechat_binding_tickets where expires_at <= $1 order by expires_at limit $2)";

pub async fn insert_ticket(
    db: &Db,
    hash: &str,
    t: &TicketRow,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_db!(db, pool => sqlx::query(INSERT_TICKET).bind(hash).bind(t.app).bind(&t.openid)
        .bind(&t.unionid).bind(expires_at).bind(now).execute(pool).await.map(|_| ())?);
    Ok(())
}

/// The ticket, while it is live and unused; it stays so until a bind takes it.
pub async fn peek_ticket(
    db: &Db,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<TicketRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(PEEK_TICKET).bind(hash).bind(now).fetch_optional(pool).await?))
}

/// Deletes up to `limit` tickets expired at `now`; how many went.
pub async fn prune_tickets(db: &Db, now: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    Ok(
        on_db!(db, pool => sqlx::query(PRUNE_TICKETS).bind(now).bind(limit).execute(pool).await?
        .rows_affected()),
    )
}

const BOUND_USER: &str = "select i.user_id, u.active from wechat_identities i
    join users u on u.id = i.user_id where i.app_id = $1 and i.openid = $2";

/// The user bound to `openid` in the app, and whether they are active.
pub async fn bound_user(db: &Db, app: Uuid, openid: &str) -> StoreResult<Option<(Uuid, bool)>> {
    on_db!(db, pool => Ok(sqlx::query_as(BOUND_USER).bind(app).bind(openid).fetch_optional(pool).await?))
}

const USER_BY_PHONE: &str = "select id, active from users where phone = $1";

/// The account whose phone is `phone` (normalised), and whether it is active.
pub async fn user_by_phone(db: &Db, phone: &str) -> StoreResult<Option<(Uuid, bool)>> {
    on_db!(db, pool => Ok(sqlx::query_as(USER_BY_PHONE).bind(phone).fetch_optional(pool).await?))
}

/// An active resident record with a given phone.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResidentByPhone {
    pub id: Uuid,
    pub community_id: Uuid,
    pub user_id: Option<Uuid>,
    pub name: String,
}

// Bounded: a phone shared by more records than this is ambiguous anyway.
const RESIDENTS_BY_PHONE: &str = "select id, community_id, user_id, name from residents
    where phone = $1 and active order by id limit 20";

pub async fn residents_by_phone(db: &Db, phone: &str) -> StoreResult<Vec<ResidentByPhone>> {
    on_db!(db, pool => Ok(sqlx::query_as(RESIDENTS_BY_PHONE).bind(phone).fetch_all(pool).await?))
}

/// The account a resident gets on their first sign-in: role `resident` in the record's
/// community, linked to the record.
pub struct NewResidentAccount<'a> {
    pub user_id: Uuid,
    pub resident_id: Uuid,
    pub community_id: Uuid,
    pub phone: &'a str,
    pub display_name: &'a str,
    /// A hash no password matches: the account signs in through WeChat until a password is set.
    pub password_hash: &'a str,
}

/// What one bind writes.
pub struct Binding<'a> {
    pub ticket_hash: &'a str,
    /// The user bound; for a new account, its id.
    pub user_id: Uuid,
    pub new_account: Option<NewResidentAccount<'a>>,
    pub refresh_hash: &'a str,
    pub refresh_expires_at: DateTime<Utc>,
    /// `by phone` or `by password`, for the audit log.
    pub how: &'a str,
    /// The communities whose audit log records the binding.
    pub communities: &'a [Uuid],
    pub request_id: Option<&'a str>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Bound {
    /// The identity is recorded and the refresh token stored.
    Done,
    /// The ticket was used, expired or never existed: nothing was written.
    TicketGone,
}

const LINK_RESIDENT: &str =
    "update residents set user_id = $2, version = version + 1, updated_at = $3
    where id = $1 and user_id is null and active";
const OPENID_OWNER: &str =
    "select user_id from wechat_identities where app_id = $1 and openid = $2";
const UPSERT_IDENTITY: &str =
    "insert into wechat_identities (user_id, app_id, openid, unionid, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $5)
    on conflict (user_id) do update set app_id = excluded.app_id, openid = excluded.openid,
        unionid = excluded.unionid, updated_at = excluded.updated_at";

/// Takes the ticket and binds its openid to the user (creating the resident's account first
/// when asked), with the refresh token of the sign-in and the audit entries, atomically.
/// `Guard("openid_in_use")` when the openid was bound to someone else meanwhile,
/// `Guard("state_changed")` when the resident record was linked or the phone taken meanwhile.
pub async fn bind(db: &Db, b: &Binding<'_>) -> StoreResult<Bound> {
    use crate::store::accounts::{tokens, users};
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let Some(t): Option<TicketRow> = sqlx::query_as(TAKE_TICKET).bind(b.ticket_hash).bind(b.now)
            .fetch_optional(&mut *tx).await? else {
            return Ok(Bound::TicketGone);
        };
        if let Some(a) = &b.new_account {
            let created = sqlx::query(users::INSERT).bind(a.user_id).bind(None::<String>).bind(a.phone)
                .bind(a.display_name).bind(a.password_hash).bind(b.now).bind(true)
                .bind(users::search_key(a.display_name, None))
                .execute(&mut *tx).await;
            match created.map_err(StoreError::from) {
                Err(StoreError::Conflict) => return Err(StoreError::Guard("state_changed")),
                other => { other?; }
            }
            sqlx::query(users::INSERT_GRANT).bind(Uuid::now_v7()).bind(a.user_id).bind("resident")
                .bind(Some(a.community_id)).bind(None::<Uuid>).bind(b.now).execute(&mut *tx).await?;
            let linked = sqlx::query(LINK_RESIDENT).bind(a.resident_id).bind(a.user_id).bind(b.now)
                .execute(&mut *tx).await?.rows_affected();
            if linked == 0 {
                return Err(StoreError::Guard("state_changed"));
            }
        }
        let owner: Option<Uuid> = sqlx::query_scalar(OPENID_OWNER).bind(t.app).bind(&t.openid)
            .fetch_optional(&mut *tx).await?;
        if owner.is_some_and(|o| o != b.user_id) {
            return Err(StoreError::Guard("openid_in_use"));
        }
        sqlx::query(UPSERT_IDENTITY).bind(b.user_id).bind(t.app).bind(&t.openid).bind(&t.unionid)
            .bind(b.now).execute(&mut *tx).await?;
        sqlx::query(tokens::INSERT).bind(Uuid::now_v7()).bind(b.user_id).bind(Uuid::now_v7())
            .bind(b.refresh_hash).bind(b.refresh_expires_at).bind(b.now).execute(&mut *tx).await?;
        for c in b.communities {
            sqlx::query(crate::store::audit::INSERT).bind(Uuid::now_v7()).bind(Some(*c))
                .bind(Some(b.user_id)).bind("wechat.bind").bind("user").bind(Some(b.user_id))
                .bind(Some(b.how)).bind(b.request_id).bind(b.now).execute(&mut *tx).await?;
            if let Some(a) = b.new_account.as_ref().filter(|a| a.community_id == *c) {
                sqlx::query(crate::store::audit::INSERT).bind(Uuid::now_v7()).bind(Some(*c))
                    .bind(Some(b.user_id)).bind("resident.account_created").bind("resident")
                    .bind(Some(a.resident_id)).bind(Some("wechat sign-in")).bind(b.request_id)
                    .bind(b.now).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(Bound::Done)
    })
}

const UNBIND: &str = "delete from wechat_identities where user_id = $1 and app_id = $2";

/// Forgets the user's identity in `app`, with audit entries in `communities`; `NotFound` when it
/// was gone already.
pub async fn unbind(
    db: &Db,
    user_id: Uuid,
    app: Uuid,
    communities: &[Uuid],
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let n = sqlx::query(UNBIND).bind(user_id).bind(app).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        for c in communities {
            sqlx::query(crate::store::audit::INSERT).bind(Uuid::now_v7()).bind(Some(*c))
                .bind(Some(user_id)).bind("wechat.unbind").bind("user").bind(Some(user_id))
                .bind(None::<String>).bind(request_id).bind(now).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    })
}
