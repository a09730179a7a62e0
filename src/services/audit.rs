//! Reading the audit log: community staff only.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Principal;
use crate::services::registry::communities::{deny, visible};
use crate::services::{Page, PageRequest, ServiceResult};
use crate::state::AppState;
use crate::store::{self, audit::AuditFilter, audit::AuditRow};

#[derive(Debug, Serialize)]
pub struct AuditView {
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

fn view(r: AuditRow) -> AuditView {
    AuditView {
        id: r.id,
        community_id: r.community_id,
        actor_id: r.actor_id,
        action: r.action,
        object_type: r.object_type,
        object_id: r.object_id,
        reason: r.reason,
        request_id: r.request_id,
        at: r.at,
    }
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    filter: AuditFilter,
    page: PageRequest,
) -> ServiceResult<Page<AuditView>> {
    visible(ctx, p, filter.community_id).await?;
    if !p.can_manage(filter.community_id) {
        return Err(deny(p, filter.community_id));
    }
    let rows = store::audit::list(&ctx.db, &filter, page.after, page.fetch_limit()).await?;
    Ok(page.page(rows, |r| r.id, view))
}
