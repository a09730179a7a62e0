//! 审单 over the JSON API: staff list, look up, link and turn down Open311 requests that wait
//! for a resident. People only: an integration client's token is refused (`Auth`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, page_request};
use crate::http::respond;
use crate::services::open311::triage::{self, LinkInput, ListQuery, RejectInput};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct TriageListQuery {
    pub state: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<TriageListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let q = q.into_inner();
    let filter = ListQuery { state: q.state };
    Ok(respond::page(
        triage::list(&ctx, &p, *community_id, filter, page).await?,
    ))
}

pub async fn get(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let v = triage::get(&ctx, &p, *id).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}

pub async fn link(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<LinkInput>,
) -> Result<HttpResponse, ApiError> {
    let v = triage::link(&ctx, &p, *id, input).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}

pub async fn reject(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<RejectInput>,
) -> Result<HttpResponse, ApiError> {
    let v = triage::reject(&ctx, &p, *id, input).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}
