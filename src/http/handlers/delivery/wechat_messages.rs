//! `/communities/{id}/wechat-messages`: what became of the community's WeChat messages.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::wechat_message::MessageStatus;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, page_request};
use crate::http::respond;
use crate::services::delivery::wechat::messages;
use crate::state::AppState;
use crate::store::delivery::wechat_messages::MessageRow;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub status: Option<MessageStatus>,
    pub user_id: Option<Uuid>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ObjectRef {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Uuid,
}

#[derive(Debug, Serialize)]
pub struct WechatMessageView {
    pub id: Uuid,
    pub event_id: Uuid,
    pub kind: String,
    pub user_id: Uuid,
    pub app_id: String,
    pub template_id: String,
    pub object: ObjectRef,
    pub status: MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(m: MessageRow) -> WechatMessageView {
    WechatMessageView {
        id: m.id,
        event_id: m.event_id,
        kind: m.kind,
        user_id: m.user_id,
        app_id: m.app_id,
        template_id: m.template_id,
        object: ObjectRef {
            kind: m.object_type,
            id: m.object_id,
        },
        status: m.status,
        attempts: m.attempts,
        next_attempt_at: m.next_attempt_at,
        last_error: m.last_error,
        sent_at: m.sent_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let found = messages::list(&ctx, &p, *community_id, q.status, q.user_id, page).await?;
    Ok(respond::page(crate::services::Page {
        items: found.items.into_iter().map(view).collect(),
        next_after: found.next_after,
    }))
}
