//! Invitations to a role in a community, and their acceptance by the account's owner.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth};
use crate::services::registry::invitations::{self as svc, AcceptInput, InvitationInput};
use crate::state::AppState;

pub async fn create(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<InvitationInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(svc::create(&ctx, &p, *community_id, input).await?))
}

pub async fn get(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(svc::get(&ctx, &p, *id).await?))
}

pub async fn accept(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    ApiJson(input): ApiJson<AcceptInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(svc::accept(&ctx, &p, input).await?))
}
