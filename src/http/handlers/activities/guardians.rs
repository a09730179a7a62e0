//! Guardians of a child resident, the people allowed to pick the child up, a guardian's children.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth};
use crate::http::respond;
use crate::services::activities::guardians as svc;
use crate::state::AppState;

pub async fn add(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    child_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::GuardianInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::add(&ctx, &p, *child_id, input).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(v))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    child_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(respond::items(svc::list(&ctx, &p, *child_id).await?))
}

pub async fn add_pickup(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    child_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::PickupInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::add_pickup(&ctx, &p, *child_id, input).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(v))
}

pub async fn pickups(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    child_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(respond::items(svc::pickups(&ctx, &p, *child_id).await?))
}

pub async fn my_children(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
) -> Result<HttpResponse, ApiError> {
    Ok(respond::items(svc::my_children(&ctx, &p).await?))
}
