//! `/communities/{id}/clients` and `/clients/{id}`: a community's integration clients, for its
//! admins and admins. Creation and rotation answer the secret, once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, IfMatch, page_request};
use crate::http::respond::{self, OneTimeSecret};
use crate::services::integrations::clients::{self as svc, ClientInput, ClientWithSecret};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ClientListQuery {
    #[serde(default)]
    pub include_revoked: bool,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn with_secret(status: StatusCode, v: &ClientWithSecret) -> HttpResponse {
    let mut res = respond::versioned(status, v, v.client.version);
    res.extensions_mut().insert(OneTimeSecret);
    res
}

pub async fn create(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<ClientInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::create(&ctx, &p, *community_id, input).await?;
    Ok(with_secret(StatusCode::CREATED, &v))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<ClientListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        svc::list(&ctx, &p, *community_id, q.include_revoked, page).await?,
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

/// Revokes the client (kept, for the audit log, with `revoked_at`).
pub async fn revoke(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    svc::revoke(&ctx, &p, *id).await?;
    Ok(respond::no_content())
}

pub async fn rotate_secret(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::rotate_secret(&ctx, &p, *id).await?;
    Ok(with_secret(StatusCode::OK, &v))
}
