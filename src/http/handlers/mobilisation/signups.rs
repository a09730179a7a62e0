//! Sign-ups for a mobilisation's slots.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth};
use crate::http::handlers::ok;
use crate::http::respond;
use crate::services::mobilisation::signups as svc;
use crate::state::AppState;

pub async fn sign_up(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    mobilisation_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::SignupInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::sign_up(&ctx, &p, *mobilisation_id, input).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(v))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    mobilisation_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(respond::items(svc::list(&ctx, &p, *mobilisation_id).await?))
}

pub async fn get(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::get(&ctx, &p, *id).await?))
}

pub async fn withdraw(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::leave(&ctx, &p, *id).await?))
}
