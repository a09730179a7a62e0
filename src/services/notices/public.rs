//! The public board (三务公开): anyone reads a community's published notices, and each with
//! every version it had, without signing in. A notice is on the board from its publishing time
//! until its end; unpublished, it leaves the board but stays readable by its id, with why.

use uuid::Uuid;

use super::staff::{NoticeView, NoticeWithVersions, VersionView};
use crate::domain::public_notice::Category;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;

async fn community(ctx: &AppState, code: &str) -> ServiceResult<Uuid> {
    store::notices::notice_rows::community_by_code(&ctx.db, code)
        .await?
        .ok_or(ServiceError::NotFound)
}

pub async fn list(
    ctx: &AppState,
    code: &str,
    category: Option<&str>,
    pinned: Option<bool>,
    page: PageRequest,
) -> ServiceResult<Page<NoticeView>> {
    let category = super::staff::parse_filter("category", category, Category::parse)?;
    let c = community(ctx, code).await?;
    let rows = store::notices::notice_rows::public(
        &ctx.db,
        c,
        store::now(),
        page.after,
        category,
        pinned,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |n| n.row.id, NoticeView::from))
}

/// One notice with its versions, once it was public: a draft, or one whose time has not come,
/// is 404 like a notice that does not exist.
pub async fn get(ctx: &AppState, code: &str, id: Uuid) -> ServiceResult<NoticeWithVersions> {
    let c = community(ctx, code).await?;
    let n = match store::notices::notice_rows::get(&ctx.db, id).await {
        Ok(n) => n,
        Err(store::StoreError::NotFound) => return Err(ServiceError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if n.row.community_id != c || !super::staff::was_public(&n.row) {
        return Err(ServiceError::NotFound);
    }
    let versions = store::notices::notice_rows::versions(&ctx.db, id).await?;
    Ok(NoticeWithVersions {
        notice: n.into(),
        versions: versions.into_iter().map(VersionView::from).collect(),
    })
}
