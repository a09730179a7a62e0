//! Sessions as they happen: sign-in, sign-out, held; the attendance report.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth};
use crate::http::handlers::ok;
use crate::services::activities::attendance as svc;
use crate::services::activities::plans;
use crate::state::AppState;

pub async fn sign_in(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::SignInInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::sign_in(&ctx, &p, *id, input).await?))
}

pub async fn sign_out(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::SignOutInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::sign_out(&ctx, &p, *id, input).await?))
}

pub async fn complete(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&plans::hold(&ctx, &p, *id).await?))
}

pub async fn attendance(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::report(&ctx, &p, *id).await?))
}
