use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{Auth, page_request};
use crate::http::respond;
use crate::services::audit;
use crate::state::AppState;
use crate::store::audit::AuditFilter;

#[derive(Deserialize)]
pub struct AuditQuery {
    pub object_id: Option<Uuid>,
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let q = q.into_inner();
    let filter = AuditFilter {
        community_id: *community_id,
        object_id: q.object_id,
        action: q.action,
        actor_id: q.actor_id,
    };
    Ok(respond::page(audit::list(&ctx, &p, filter, page).await?))
}
