//! Notices and their versions. A state change is one conditional update (on the state and the
//! version it was read in) with its outbox row, in one transaction.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::public_notice::{Category, LineItem, Status};
use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NoticeRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub category: Category,
    pub status: Status,
    pub pinned: bool,
    pub publish_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub announced_at: Option<DateTime<Utc>>,
    pub current_version: i64,
    pub unpublished_at: Option<DateTime<Utc>>,
    pub unpublish_reason: Option<String>,
    pub created_by: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub notice_id: Uuid,
    pub no: i64,
    pub title: String,
    pub body: String,
    pub items: Option<Json<Vec<LineItem>>>,
    pub total_fen: Option<i64>,
    pub reason: Option<String>,
    pub author_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A notice with its current version's content.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Notice {
    #[sqlx(flatten)]
    pub row: NoticeRow,
    pub title: String,
    pub body: String,
    pub items: Option<Json<Vec<LineItem>>>,
    pub total_fen: Option<i64>,
}

/// An outbox message about a notice: `notice.<kind>`.
#[derive(Debug, Clone)]
pub struct NoticeEvent {
    pub notice_id: Uuid,
    pub community_id: Uuid,
    pub kind: &'static str,
    pub actor_id: Option<Uuid>,
    pub data: Value,
    pub at: DateTime<Utc>,
}

impl NoticeEvent {
    fn payload(&self, id: Uuid) -> Value {
        json!({
            "event_id": id,
            "notice_id": self.notice_id,
            "community_id": self.community_id,
            "kind": self.kind,
            "actor_id": self.actor_id,
            "data": self.data,
            "at": self.at,
        })
    }
}

const INSERT_OUTBOX: &str =
    "insert into outbox (id, community_id, topic, aggregate_type, aggregate_id, payload,
        created_at, delivered_at) values ($1, $2, $3, 'notice', $4, $5, $6, null)";

macro_rules! write_event {
    ($tx:ident, $e:expr) => {{
        let e: &NoticeEvent = $e;
        let id = Uuid::now_v7();
        sqlx::query(INSERT_OUTBOX)
            .bind(id)
            .bind(e.community_id)
            .bind(format!("notice.{}", e.kind))
            .bind(e.notice_id)
            .bind(Json(e.payload(id)))
            .bind(e.at)
            .execute(&mut *$tx)
            .await?;
    }};
}

macro_rules! columns {
    () => {
        "n.id, n.community_id, n.category, n.status, n.pinned, n.publish_at, n.ends_at,
        n.announced_at, n.current_version, n.unpublished_at, n.unpublish_reason, n.created_by,
        n.version, n.created_at, n.updated_at, v.title, v.body, v.items, v.total_fen"
    };
}

const INSERT: &str = "insert into notices (id, community_id, category, status, pinned, publish_at,
        ends_at, announced_at, current_version, created_by, version, created_at, updated_at)
    values ($1, $2, $3, 'draft', $4, null, $5, null, 1, $6, 1, $7, $7)";
const INSERT_VERSION: &str = "insert into notice_versions (notice_id, no, title, body, items,
        total_fen, reason, author_id, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const GET: &str = concat!(
    "select ",
    columns!(),
    " from notices n join notice_versions v on v.notice_id = n.id and v.no = n.current_version
    where n.id = $1"
);
const VERSIONS: &str = "select notice_id, no, title, body, items, total_fen, reason, author_id,
        created_at from notice_versions where notice_id = $1 order by no";
// Staff's list: every state, newest first.
const LIST: &str = concat!(
    "select ",
    columns!(),
    " from notices n join notice_versions v on v.notice_id = n.id and v.no = n.current_version
    where n.community_id = $1 and ($2 is null or n.id < $2) and ($3 is null or n.category = $3)
      and ($4 is null or n.status = $4)
    order by n.id desc limit $5"
);
// The public board: published, its time come, not yet ended.
const PUBLIC: &str = concat!(
    "select ",
    columns!(),
    " from notices n join notice_versions v on v.notice_id = n.id and v.no = n.current_version
    where n.community_id = $1 and n.status = 'published' and n.publish_at <= $2
      and (n.ends_at is null or n.ends_at > $2)
      and ($3 is null or n.id < $3) and ($4 is null or n.category = $4)
      and ($5 is null or n.pinned = $5)
    order by n.id desc limit $6"
);

pub async fn insert(db: &Db, n: &NoticeRow, v: &VersionRow) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("notice", n.id);
        sqlx::query(INSERT).bind(n.id).bind(n.community_id).bind(n.category).bind(n.pinned)
            .bind(n.ends_at).bind(n.created_by).bind(n.created_at).execute(&mut *tx).await?;
        sqlx::query(INSERT_VERSION).bind(v.notice_id).bind(v.no).bind(&v.title).bind(&v.body)
            .bind(&v.items).bind(v.total_fen).bind(&v.reason).bind(v.author_id)
            .bind(v.created_at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    })
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<Notice> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

pub async fn versions(db: &Db, id: Uuid) -> StoreResult<Vec<VersionRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(VERSIONS).bind(id).fetch_all(pool).await?))
}

pub async fn list(
    db: &Db,
    community_id: Uuid,
    before: Option<Uuid>,
    category: Option<Category>,
    status: Option<Status>,
    limit: i64,
) -> StoreResult<Vec<Notice>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST).bind(community_id).bind(before).bind(category)
        .bind(status).bind(limit).fetch_all(pool).await?))
}

pub async fn public(
    db: &Db,
    community_id: Uuid,
    now: DateTime<Utc>,
    before: Option<Uuid>,
    category: Option<Category>,
    pinned: Option<bool>,
    limit: i64,
) -> StoreResult<Vec<Notice>> {
    on_db!(db, pool => Ok(sqlx::query_as(PUBLIC).bind(community_id).bind(now).bind(before)
        .bind(category).bind(pinned).bind(limit).fetch_all(pool).await?))
}

const EDIT_DRAFT: &str = "update notices set pinned = $3, ends_at = $4, version = version + 1,
        updated_at = $5 where id = $1 and version = $2 and status = 'draft'";
const EDIT_DRAFT_VERSION: &str = "update notice_versions set title = $2, body = $3, items = $4,
        total_fen = $5, created_at = $6 where notice_id = $1 and no = 1";
const EDIT_SHOWING: &str = "update notices set pinned = $3, ends_at = $4, version = version + 1,
        updated_at = $5 where id = $1 and version = $2 and status = $6";

/// Rewrites a draft in place (nobody has read it): its content and its showing.
/// `version_mismatch` when it changed since it was read, `not_draft` once published.
pub async fn edit_draft(
    db: &Db,
    n: &NoticeRow,
    v: &VersionRow,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("notice", n.id);
        let hit = sqlx::query(EDIT_DRAFT).bind(n.id).bind(n.version).bind(n.pinned).bind(n.ends_at)
            .bind(at).execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::StaleVersion);
        }
        sqlx::query(EDIT_DRAFT_VERSION).bind(n.id).bind(&v.title).bind(&v.body).bind(&v.items)
            .bind(v.total_fen).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    })
}

/// Changes how a notice is shown (pinned, its end), never what it says.
pub async fn edit_showing(db: &Db, n: &NoticeRow, at: DateTime<Utc>) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("notice", n.id);
        let hit = sqlx::query(EDIT_SHOWING).bind(n.id).bind(n.version).bind(n.pinned)
            .bind(n.ends_at).bind(at).bind(n.status).execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::StaleVersion);
        }
        tx.commit().await?;
        Ok(())
    })
}

const PUBLISH: &str = "update notices set status = 'published', publish_at = $2, announced_at = $3,
        version = version + 1, updated_at = $4 where id = $1 and status = 'draft'";

/// Publishes a draft from `publish_at`; when that is now, the announcement goes with it (else
/// the sweep makes it when the time comes).
pub async fn publish(
    db: &Db,
    id: Uuid,
    publish_at: DateTime<Utc>,
    announce: Option<&NoticeEvent>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("notice", id);
        let hit = sqlx::query(PUBLISH).bind(id).bind(publish_at).bind(announce.map(|e| e.at))
            .bind(at).execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::Guard("invalid_transition"));
        }
        if let Some(e) = announce {
            write_event!(tx, e);
        }
        tx.commit().await?;
        Ok(())
    })
}

const CORRECT: &str = "update notices set current_version = current_version + 1,
        version = version + 1, updated_at = $3
    where id = $1 and status = 'published' and current_version = $2";

/// Adds a version to a published notice, if nobody corrected it since it was read.
pub async fn correct(db: &Db, v: &VersionRow, event: &NoticeEvent) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("notice", v.notice_id);
        let hit = sqlx::query(CORRECT).bind(v.notice_id).bind(v.no - 1).bind(v.created_at)
            .execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::Guard("invalid_transition"));
        }
        sqlx::query(INSERT_VERSION).bind(v.notice_id).bind(v.no).bind(&v.title).bind(&v.body)
            .bind(&v.items).bind(v.total_fen).bind(&v.reason).bind(v.author_id)
            .bind(v.created_at).execute(&mut *tx).await?;
        write_event!(tx, event);
        tx.commit().await?;
        Ok(())
    })
}

const UNPUBLISH: &str = "update notices set status = 'unpublished', unpublished_at = $2,
        unpublish_reason = $3, version = version + 1, updated_at = $2
    where id = $1 and status = 'published'";

pub async fn unpublish(db: &Db, id: Uuid, reason: &str, event: &NoticeEvent) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("notice", id);
        let hit = sqlx::query(UNPUBLISH).bind(id).bind(event.at).bind(reason)
            .execute(&mut *tx).await?.rows_affected();
        if hit == 0 {
            return Err(StoreError::Guard("invalid_transition"));
        }
        write_event!(tx, event);
        tx.commit().await?;
        Ok(())
    })
}

const DUE: &str = "select n.id, n.community_id, n.category, n.current_version, v.title
    from notices n join notice_versions v on v.notice_id = n.id and v.no = n.current_version
    where n.status = 'published' and n.announced_at is null and n.publish_at <= $1
    order by n.publish_at limit $2";
const MARK_ANNOUNCED: &str = "update notices set announced_at = $2
    where id = $1 and status = 'published' and announced_at is null";

/// Announces the notices whose publishing time has come, at most `limit`; each once, whichever
/// instance gets there first (the conditional update decides). Returns how many it announced.
pub async fn announce_due(db: &Db, now: DateTime<Utc>, limit: i64) -> StoreResult<usize> {
    on_db!(db, pool => {
        let due: Vec<(Uuid, Uuid, Category, i64, String)> =
            sqlx::query_as(DUE).bind(now).bind(limit).fetch_all(pool).await?;
        let mut told = 0;
        for (id, community_id, category, no, title) in due {
            let mut tx = pool.begin_write().await?;
            let hit = sqlx::query(MARK_ANNOUNCED).bind(id).bind(now).execute(&mut *tx).await?
                .rows_affected();
            if hit == 1 {
                let e = NoticeEvent {
                    notice_id: id,
                    community_id,
                    kind: "published",
                    actor_id: None,
                    data: json!({"category": category, "title": title, "version": no}),
                    at: now,
                };
                write_event!(tx, &e);
                told += 1;
            }
            tx.commit().await?;
        }
        Ok(told)
    })
}

const COMMUNITY_BY_CODE: &str = "select id from communities where code = $1 and active";

/// The active community of `code`, for the public board.
pub async fn community_by_code(db: &Db, code: &str) -> StoreResult<Option<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(COMMUNITY_BY_CODE).bind(code).fetch_optional(pool).await?))
}

const INSERT_PUBLISHED: &str = "insert into notices (id, community_id, category, status, pinned,
        publish_at, ends_at, announced_at, current_version, created_by, version, created_at,
        updated_at)
    values ($1, $2, $3, 'published', $4, $5, $6, $5, 1, $7, 1, $5, $5)";

/// A notice published at once, with its announcement and what the capability that asked for it
/// writes beside it (`also`, about `subject`): everything commits together, or nothing.
pub async fn insert_published(
    db: &Db,
    n: &NoticeRow,
    v: &VersionRow,
    announce: &NoticeEvent,
    subject: (&'static str, Uuid),
    also: &dyn crate::store::TxWrites,
) -> StoreResult<()> {
    use crate::store::ApplyIn;
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject(subject.0, subject.1);
        sqlx::query(INSERT_PUBLISHED).bind(n.id).bind(n.community_id).bind(n.category)
            .bind(n.pinned).bind(n.created_at).bind(n.ends_at).bind(n.created_by)
            .execute(&mut *tx).await?;
        sqlx::query(INSERT_VERSION).bind(v.notice_id).bind(v.no).bind(&v.title).bind(&v.body)
            .bind(&v.items).bind(v.total_fen).bind(&v.reason).bind(v.author_id)
            .bind(v.created_at).execute(&mut *tx).await?;
        write_event!(tx, announce);
        also.apply_in(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    })
}
