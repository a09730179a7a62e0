//! Attendance at a mobilisation: check-in, check-out, the rotating code, rows by hand.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth};
use crate::http::handlers::ok;
use crate::http::respond;
use crate::services::mobilisation::attendance as svc;
use crate::state::AppState;

pub async fn check_in(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::CheckInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::check_in(&ctx, &p, *id, input).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(v))
}

pub async fn check_out(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::CheckInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::check_out(&ctx, &p, *id, input).await?))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(respond::items(svc::list(&ctx, &p, *id).await?))
}

pub async fn record(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::ManualInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::record(&ctx, &p, *id, input).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(v))
}

pub async fn code(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::code(&ctx, &p, *id).await?))
}
