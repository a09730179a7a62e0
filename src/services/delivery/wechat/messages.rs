//! What became of a community's WeChat messages, for its staff: sent, refused, failed, or
//! still pending with their attempts and last error.

use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::wechat_message::MessageStatus;
use crate::services::registry::communities::deny;
use crate::services::{Page, PageRequest, ServiceResult};
use crate::state::AppState;
use crate::store::delivery::wechat_messages::{self, MessageRow};

/// Newest first; staff of the community and admins (403 for other members, 404 for outsiders).
pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    status: Option<MessageStatus>,
    user_id: Option<Uuid>,
    page: PageRequest,
) -> ServiceResult<Page<MessageRow>> {
    if !p.is_staff(community_id) {
        return Err(deny(p, community_id));
    }
    let rows = wechat_messages::page(
        &ctx.db,
        community_id,
        page.after,
        status,
        user_id,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |r| r.id, |r| r))
}
