//! Hours staff approve: the community's entries, a volunteer's, and the decisions.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, page_request};
use crate::http::handlers::{PageQuery, ok};
use crate::http::respond;
use crate::services::records::hours as svc;
use crate::state::AppState;

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<svc::ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        svc::list(&ctx, &p, *community_id, q, page).await?,
    ))
}

pub async fn of_volunteer(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    volunteer_id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        svc::of_volunteer(&ctx, &p, *volunteer_id, page).await?,
    ))
}

pub async fn approve(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::approve(&ctx, &p, *id).await?))
}

pub async fn decline(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::DeclineInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::decline(&ctx, &p, *id, input).await?))
}

pub async fn bulk_approve(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::BulkInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::bulk(&ctx, &p, *community_id, input, true).await?))
}

pub async fn bulk_decline(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::BulkInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::bulk(&ctx, &p, *community_id, input, false).await?))
}
