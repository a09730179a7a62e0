use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::Value;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, IfMatch, OptionalIfMatch, page_request};
use crate::http::handlers::SimpleListQuery;
use crate::http::respond;
use crate::services::registry::communities::{self as svc, CommunityInput};
use crate::state::AppState;

pub async fn create(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    ApiJson(input): ApiJson<CommunityInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::create(&ctx, &p, input).await?;
    Ok(respond::versioned(StatusCode::CREATED, &v, v.version))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<SimpleListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        svc::list(&ctx, &p, q.include_inactive, page).await?,
    ))
}

pub async fn get(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::get(&ctx, &p, *id).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
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

pub async fn deactivate(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    OptionalIfMatch(version): OptionalIfMatch,
) -> Result<HttpResponse, ApiError> {
    svc::deactivate(&ctx, &p, *id, version).await?;
    Ok(respond::no_content())
}
