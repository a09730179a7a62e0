//! `/communities/{id}/webhooks` and `/webhooks/{id}`: a community's webhooks, their deliveries,
//! retrying one and replaying from a time.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, IfMatch, OptionalIfMatch, Scoped, page_request, scopes};
use crate::http::handlers::PageQuery;
use crate::http::respond::{self, OneTimeSecret};
use crate::services::delivery::webhooks::deliveries::{self, ReplayInput};
use crate::services::delivery::webhooks::endpoints::{self as svc, WebhookInput};
use crate::state::AppState;

pub async fn create(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::WebhooksManage>,
    community_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<WebhookInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::create(&ctx, &p, *community_id, input).await?;
    let mut res = respond::versioned(StatusCode::CREATED, &v, v.version);
    res.extensions_mut().insert(OneTimeSecret);
    Ok(res)
}

pub async fn list(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::WebhooksManage>,
    community_id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        svc::list(&ctx, &p, *community_id, page).await?,
    ))
}

pub async fn get(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::WebhooksManage>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::get(&ctx, &p, *id).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}

pub async fn update(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::WebhooksManage>,
    id: web::Path<Uuid>,
    IfMatch(version): IfMatch,
    ApiJson(changes): ApiJson<Value>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::update(&ctx, &p, *id, version, &changes).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}

pub async fn delete(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::WebhooksManage>,
    id: web::Path<Uuid>,
    OptionalIfMatch(version): OptionalIfMatch,
) -> Result<HttpResponse, ApiError> {
    svc::delete(&ctx, &p, *id, version).await?;
    Ok(respond::no_content())
}

#[derive(Debug, Deserialize)]
pub struct DeliveryQuery {
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn deliveries(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::WebhooksManage>,
    id: web::Path<Uuid>,
    q: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        deliveries::list(&ctx, &p, *id, q.status.as_deref(), page).await?,
    ))
}

pub async fn retry(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::WebhooksManage>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (webhook_id, delivery_id) = path.into_inner();
    let v = deliveries::retry(&ctx, &p, webhook_id, delivery_id).await?;
    Ok(HttpResponse::Ok().json(v))
}

pub async fn replay(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::WebhooksManage>,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<ReplayInput>,
) -> Result<HttpResponse, ApiError> {
    let v = deliveries::replay(&ctx, &p, *id, input).await?;
    Ok(HttpResponse::Accepted().json(v))
}
