//! 三务公开 notices: staff's routes, and the public board anyone reads without signing in
//! (limited per caller address).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, IfMatch, page_request, rate_limited};
use crate::http::handlers::ok;
use crate::http::respond;
use crate::services::notices::public;
use crate::services::notices::staff::{
    self as svc, CorrectionInput, ListFilter, NoticeInput, PublishInput, ReasonInput,
};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ListQuery {
    pub category: Option<String>,
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Deserialize)]
pub struct PublicQuery {
    pub category: Option<String>,
    pub pinned: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn create(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<NoticeInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::create(&ctx, &p, *community_id, input).await?;
    Ok(respond::versioned(StatusCode::CREATED, &v, v.version))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let q = q.into_inner();
    let filter = ListFilter {
        category: q.category,
        status: q.status,
    };
    Ok(respond::page(
        svc::list(&ctx, &p, *community_id, filter, page).await?,
    ))
}

pub async fn get(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::get(&ctx, &p, *id).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.notice.version))
}

pub async fn update(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    IfMatch(version): IfMatch,
    ApiJson(changes): ApiJson<Value>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::update(&ctx, &p, *id, version, &changes).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}

pub async fn publish(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<PublishInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::publish(&ctx, &p, *id, input).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}

pub async fn correct(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<CorrectionInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::correct(&ctx, &p, *id, input).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.notice.version))
}

pub async fn unpublish(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::unpublish(&ctx, &p, *id, input).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}

pub async fn public_list(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
    q: web::Query<PublicQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Some(addr) = req.peer_addr() {
        rate_limited(&req, ctx.rate_limits.check_address(addr.ip()))?;
    }
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        public::list(&ctx, &code, q.category.as_deref(), q.pinned, page).await?,
    ))
}

pub async fn public_get(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    if let Some(addr) = req.peer_addr() {
        rate_limited(&req, ctx.rate_limits.check_address(addr.ip()))?;
    }
    let (code, id) = path.into_inner();
    Ok(ok(&public::get(&ctx, &code, id).await?))
}
