//! WeChat mini-program apps: the app id, the secret (encrypted; only the sender and sign-in
//! decrypt it) and the communities each serves.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreResult, now, on_db, stale_or_missing};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WechatAppRow {
    pub id: Uuid,
    pub app_id: String,
    pub name: String,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct WechatApp {
    pub row: WechatAppRow,
    pub community_ids: Vec<Uuid>,
}

/// What a save writes; `secret_enc` `None` keeps the stored secret.
pub struct AppSave<'a> {
    pub id: Uuid,
    pub app_id: &'a str,
    pub name: &'a str,
    pub secret_enc: Option<&'a [u8]>,
    pub active: bool,
    pub community_ids: &'a [Uuid],
}

const INSERT: &str = "insert into wechat_apps (id, app_id, name, secret_enc, active, version, created_at, updated_at)
    values ($1, $2, $3, $4, $5, 1, $6, $6)";
const UPDATE: &str =
    "update wechat_apps set app_id = $3, name = $4, secret_enc = coalesce($5, secret_enc),
        active = $6, version = version + 1, updated_at = $7
    where id = $1 and version = $2";
const GET: &str = "select id, app_id, name, active, version, created_at, updated_at from wechat_apps where id = $1";
const EXISTS: &str = "select count(*) from wechat_apps where id = $1";
const COMMUNITIES: &str =
    "select community_id from wechat_app_communities where app_id = $1 order by community_id";
const CLEAR: &str = "delete from wechat_app_communities where app_id = $1";
const LINK: &str = "insert into wechat_app_communities (app_id, community_id) values ($1, $2)";
const LIST: &str =
    "select id, app_id, name, active, version, created_at, updated_at from wechat_apps
    where ($1 is null or id > $1) and ($2 or active) order by id limit $3";
const BY_APP_ID: &str = "select id from wechat_apps where app_id = $1";
const SECRET: &str = "select secret_enc from wechat_apps where id = $1";

/// Creates (`expected_version` None) or updates an app and replaces its communities, atomically.
pub async fn save(
    db: &Db,
    s: &AppSave<'_>,
    expected_version: Option<i64>,
) -> StoreResult<WechatApp> {
    let t = now();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("wechat_app", s.id);
        let written = match expected_version {
            None => sqlx::query(INSERT).bind(s.id).bind(s.app_id).bind(s.name)
                .bind(s.secret_enc.unwrap_or_default()).bind(s.active).bind(t)
                .execute(&mut *tx).await?,
            Some(v) => sqlx::query(UPDATE).bind(s.id).bind(v).bind(s.app_id).bind(s.name)
                .bind(s.secret_enc).bind(s.active).bind(t).execute(&mut *tx).await?,
        };
        if written.rows_affected() == 0 {
            let n: i64 = sqlx::query_scalar(EXISTS).bind(s.id).fetch_one(&mut *tx).await?;
            return Err(stale_or_missing(n > 0));
        }
        sqlx::query(CLEAR).bind(s.id).execute(&mut *tx).await?;
        for c in s.community_ids {
            sqlx::query(LINK).bind(s.id).bind(c).execute(&mut *tx).await?;
        }
        let row: WechatAppRow = sqlx::query_as(GET).bind(s.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        let mut community_ids = s.community_ids.to_vec();
        community_ids.sort();
        Ok(WechatApp { row, community_ids })
    })
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<WechatApp> {
    let row: WechatAppRow = on_db!(db, pool => sqlx::query_as(GET).bind(id).fetch_one(pool).await?);
    let community_ids =
        on_db!(db, pool => sqlx::query_scalar(COMMUNITIES).bind(id).fetch_all(pool).await?);
    Ok(WechatApp { row, community_ids })
}

pub async fn list(
    db: &Db,
    after: Option<Uuid>,
    include_inactive: bool,
    limit: i64,
) -> StoreResult<Vec<WechatApp>> {
    let rows: Vec<WechatAppRow> = on_db!(db, pool => sqlx::query_as(LIST)
        .bind(after).bind(include_inactive).bind(limit).fetch_all(pool).await?);
    let mut apps = Vec::with_capacity(rows.len());
    for row in rows {
        let community_ids =
            on_db!(db, pool => sqlx::query_scalar(COMMUNITIES).bind(row.id).fetch_all(pool).await?);
        apps.push(WechatApp { row, community_ids });
    }
    Ok(apps)
}

/// The encrypted secret of app `id`.
pub async fn secret(db: &Db, id: Uuid) -> StoreResult<Vec<u8>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(SECRET).bind(id).fetch_one(pool).await?))
}

/// The app with WeChat's app id `app_id`, if registered.
pub async fn find_by_app_id(db: &Db, app_id: &str) -> StoreResult<Option<WechatApp>> {
    let id: Option<Uuid> =
        on_db!(db, pool => sqlx::query_scalar(BY_APP_ID).bind(app_id).fetch_optional(pool).await?);
    match id {
        Some(id) => Ok(Some(get(db, id).await?)),
        None => Ok(None),
    }
}
