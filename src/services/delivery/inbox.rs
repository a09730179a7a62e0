//! A person's inbox: their notifications, newest first, and marking them read. Only the owner
//! reads or marks a notification; another's is 404.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Principal;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::delivery::notifications::{self, NotificationRow};
use crate::store::{self, StoreError};

/// One notification as the service hands it on; the HTTP layer words it in the reader's
/// language.
#[derive(Debug, Clone)]
pub struct Notification {
    pub id: Uuid,
    pub kind: String,
    pub community_id: Option<Uuid>,
    pub object_type: String,
    pub object_id: Uuid,
    pub params: Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

fn from_row(r: NotificationRow) -> Notification {
    Notification {
        id: r.id,
        kind: r.kind,
        community_id: r.community_id,
        object_type: r.object_type,
        object_id: r.object_id,
        params: r.params.0,
        created_at: r.created_at,
        read_at: r.read_at,
    }
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    unread_only: bool,
    page: PageRequest,
) -> ServiceResult<Page<Notification>> {
    let rows = notifications::page(
        &ctx.db,
        p.user_id,
        page.after,
        unread_only,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |r| r.id, from_row))
}

/// What a live stream sends after `after` (oldest first), at most `limit`.
pub async fn since(
    ctx: &AppState,
    user_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> ServiceResult<Vec<Notification>> {
    let rows = notifications::after(&ctx.db, user_id, after, limit).await?;
    Ok(rows.into_iter().map(from_row).collect())
}

pub async fn unread(ctx: &AppState, p: &Principal) -> ServiceResult<i64> {
    Ok(notifications::unread_count(&ctx.db, p.user_id).await?)
}

pub async fn mark_read(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<Notification> {
    match notifications::mark_read(&ctx.db, id, p.user_id, store::now()).await {
        Ok(r) => Ok(from_row(r)),
        Err(StoreError::NotFound) => Err(ServiceError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Marks everything that has arrived so far read; how many were unread.
pub async fn mark_all_read(ctx: &AppState, p: &Principal) -> ServiceResult<u64> {
    Ok(notifications::mark_all_read(&ctx.db, p.user_id, Uuid::now_v7(), store::now()).await?)
}
