//! Users and their role grants.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreError, StoreResult, now, on_db, stale_or_missing};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub display_name: String,
    pub password_hash: String,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GrantRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub community_id: Option<Uuid>,
}

/// What authentication needs on every request, in one round trip.
#[derive(Debug, Clone, sqlx::FromRow)]
struct PrincipalRow {
    active: bool,
    grant_id: Option<Uuid>,
    role: Option<String>,
    community_id: Option<Uuid>,
}

pub struct NewUser {
    pub username: Option<String>,
    pub phone: Option<String>,
    pub display_name: String,
    pub password_hash: String,
    pub active: bool,
}

pub(crate) const INSERT: &str = "insert into users (id, username, phone, display_name, password_hash, active, version, created_at, updated_at,
        search_key)
    values ($1, $2, $3, $4, $5, $7, 1, $6, $6, $8)
    returning id, username, phone, display_name, password_hash, active, version, created_at, updated_at";
/// What `q` matches besides the phone: the display name and the username.
pub(crate) fn search_key(display_name: &str, username: Option<&str>) -> String {
    crate::domain::text::search_key([display_name, username.unwrap_or("")])
}

pub(crate) const INSERT_GRANT: &str =
    "insert into role_grants (id, user_id, role, community_id, granted_by, created_at)
    values ($1, $2, $3, $4, $5, $6)";
const GRANT_EXISTS: &str = "select count(*) from role_grants where user_id = $1 and role = $2
    and (community_id = $3 or (community_id is null and $3 is null))";

/// Creates a user with their first roles, atomically.
pub async fn insert(
    db: &Db,
    new: NewUser,
    grants: &[(String, Option<Uuid>)],
    granted_by: Option<Uuid>,
) -> StoreResult<UserRow> {
    let t = now();
    let id = Uuid::now_v7();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("user", id);
        let row: UserRow = sqlx::query_as(INSERT)
            .bind(id).bind(&new.username).bind(&new.phone).bind(&new.display_name)
            .bind(&new.password_hash).bind(t)
            .bind(new.active).bind(search_key(new.display_name.as_str(), new.username.as_deref()))
            .fetch_one(&mut *tx).await?;
        for (role, community) in grants {
            sqlx::query(INSERT_GRANT)
                .bind(Uuid::now_v7()).bind(id).bind(role).bind(community).bind(granted_by).bind(t)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(row)
    })
}

const GET: &str = "select id, username, phone, display_name, password_hash, active, version, created_at, updated_at from users where id = $1";

pub async fn get(db: &Db, id: Uuid) -> StoreResult<UserRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

const BY_LOGIN: &str = "select id, username, phone, display_name, password_hash, active, version, created_at, updated_at
    from users where username = $1 or phone = $2";

/// `login` is a username (stored lowercase) or a normalised phone number.
pub async fn find_by_login(
    db: &Db,
    username: &str,
    phone: Option<&str>,
) -> StoreResult<Option<UserRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(BY_LOGIN).bind(username).bind(phone).fetch_optional(pool).await?))
}

const PRINCIPAL: &str = "select u.active, g.id as grant_id, g.role, g.community_id
    from users u left join role_grants g on g.user_id = u.id where u.id = $1";

/// `None` when the user does not exist; otherwise whether they are active and their grants.
pub async fn principal(db: &Db, id: Uuid) -> StoreResult<Option<(bool, Vec<GrantRow>)>> {
    let rows: Vec<PrincipalRow> =
        on_db!(db, pool => sqlx::query_as(PRINCIPAL).bind(id).fetch_all(pool).await?);
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let active = first.active;
    let grants = rows
        .into_iter()
        .filter_map(|r| {
            Some(GrantRow {
                id: r.grant_id?,
                user_id: id,
                role: r.role?,
                community_id: r.community_id,
            })
        })
        .collect();
    Ok(Some((active, grants)))
}

const GRANTS: &str =
    "select id, user_id, role, community_id from role_grants where user_id = $1 order by id";

pub async fn grants(db: &Db, user_id: Uuid) -> StoreResult<Vec<GrantRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(GRANTS).bind(user_id).fetch_all(pool).await?))
}

/// One page of users: `$1` after, `$2` community, `$3` LIKE pattern, `$4` limit.
macro_rules! user_page {
    () => {
        "from users u
        where ($1 is null or u.id > $1)
          and ($2 is null or exists (select 1 from role_grants g where g.user_id = u.id and g.community_id = $2))
          and ($3 is null or u.search_key like $3 escape '\\' or u.phone like $3 escape '\\')
        order by u.id limit $4"
    };
}

const LIST: &str = concat!(
    "select id, username, phone, display_name, password_hash, active, version, created_at, updated_at ",
    user_page!()
);
const PAGE_GRANTS: &str = concat!(
    "select g.id, g.user_id, g.role, g.community_id from role_grants g where g.user_id in (select u.id ",
    user_page!(),
    ") order by g.id"
);

/// A page of users with their grants, in two queries however long the page.
pub async fn list_with_grants(
    db: &Db,
    after: Option<Uuid>,
    community: Option<Uuid>,
    pattern: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<(UserRow, Vec<GrantRow>)>> {
    let users = list(db, after, community, pattern, limit).await?;
    let grants: Vec<GrantRow> = on_db!(db, pool => sqlx::query_as(PAGE_GRANTS)
        .bind(after).bind(community).bind(pattern).bind(limit)
        .fetch_all(pool).await?);
    let mut by_user: std::collections::HashMap<Uuid, Vec<GrantRow>> =
        std::collections::HashMap::new();
    for g in grants {
        by_user.entry(g.user_id).or_default().push(g);
    }
    Ok(users
        .into_iter()
        .map(|u| {
            let g = by_user.remove(&u.id).unwrap_or_default();
            (u, g)
        })
        .collect())
}

async fn list(
    db: &Db,
    after: Option<Uuid>,
    community: Option<Uuid>,
    pattern: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<UserRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST)
        .bind(after).bind(community).bind(pattern).bind(limit)
        .fetch_all(pool).await?))
}

const UPDATE: &str = "update users set username = $3, phone = $4, display_name = $5, password_hash = $6, active = $7,
        version = version + 1, updated_at = $8, search_key = $9
    where id = $1 and version = $2
    returning id, username, phone, display_name, password_hash, active, version, created_at, updated_at";
const EXISTS: &str = "select count(*) from users where id = $1";
const REVOKE_ALL_TOKENS: &str =
    "update refresh_tokens set revoked_at = $2 where user_id = $1 and revoked_at is null";

/// Full-row update guarded by the version the caller read. Deactivating a user also revokes
/// every refresh token they hold.
pub async fn update(db: &Db, row: &UserRow, expected_version: i64) -> StoreResult<UserRow> {
    let t = now();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let updated: Option<UserRow> = sqlx::query_as(UPDATE)
            .bind(row.id).bind(expected_version).bind(&row.username).bind(&row.phone)
            .bind(&row.display_name).bind(&row.password_hash).bind(row.active).bind(t)
            .bind(search_key(&row.display_name, row.username.as_deref()))
            .fetch_optional(&mut *tx).await?;
        let Some(updated) = updated else {
            let n: i64 = sqlx::query_scalar(EXISTS).bind(row.id).fetch_one(&mut *tx).await?;
            return Err(stale_or_missing(n > 0));
        };
        if !updated.active {
            sqlx::query(REVOKE_ALL_TOKENS).bind(row.id).bind(t).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(updated)
    })
}

const GET_GRANT: &str = "select id, user_id, role, community_id from role_grants where id = $1";

pub async fn grant(
    db: &Db,
    user_id: Uuid,
    role: &str,
    community_id: Option<Uuid>,
    granted_by: Option<Uuid>,
) -> StoreResult<GrantRow> {
    let id = Uuid::now_v7();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("user", user_id);
        // NULL community ids are distinct to a unique index, so admin grants are checked here.
        let n: i64 = sqlx::query_scalar(GRANT_EXISTS).bind(user_id).bind(role).bind(community_id)
            .fetch_one(&mut *tx).await?;
        if n > 0 {
            return Err(StoreError::Conflict);
        }
        sqlx::query(INSERT_GRANT)
            .bind(id).bind(user_id).bind(role).bind(community_id).bind(granted_by).bind(now())
            .execute(&mut *tx).await?;
        let row: GrantRow = sqlx::query_as(GET_GRANT).bind(id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    })
}

/// Grants a role unless the user already holds it (used when a volunteer or resident profile
/// is linked to an account), inside the caller's transaction.
pub(crate) trait GrantExec {
    async fn ensure_grant(
        &mut self,
        user_id: Uuid,
        role: &str,
        community_id: Uuid,
    ) -> Result<(), sqlx::Error>;
}

macro_rules! impl_grant_exec {
    ($conn:ty) => {
        impl GrantExec for $conn {
            async fn ensure_grant(
                &mut self,
                user_id: Uuid,
                role: &str,
                community_id: Uuid,
            ) -> Result<(), sqlx::Error> {
                let n: i64 = sqlx::query_scalar(GRANT_EXISTS)
                    .bind(user_id)
                    .bind(role)
                    .bind(Some(community_id))
                    .fetch_one(&mut *self)
                    .await?;
                if n == 0 {
                    sqlx::query(INSERT_GRANT)
                        .bind(Uuid::now_v7())
                        .bind(user_id)
                        .bind(role)
                        .bind(Some(community_id))
                        .bind(None::<Uuid>)
                        .bind(now())
                        .execute(&mut *self)
                        .await?;
                }
                Ok(())
            }
        }
    };
}
impl_grant_exec!(sqlx::SqliteConnection);
impl_grant_exec!(sqlx::PgConnection);

const DELETE_GRANT: &str = "delete from role_grants where id = $1 and user_id = $2 returning id, user_id, role, community_id";

pub async fn revoke(db: &Db, user_id: Uuid, grant_id: Uuid) -> StoreResult<GrantRow> {
    on_db!(db, pool => Ok(sqlx::query_as(DELETE_GRANT).bind(grant_id).bind(user_id).fetch_one(pool).await?))
}

pub async fn get_grant(db: &Db, grant_id: Uuid) -> StoreResult<GrantRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET_GRANT).bind(grant_id).fetch_one(pool).await?))
}

const COUNT: &str = "select count(*) from users";

pub async fn count(db: &Db) -> StoreResult<i64> {
    on_db!(db, pool => Ok(sqlx::query_scalar(COUNT).fetch_one(pool).await?))
}
