use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth};
use crate::http::respond;
use crate::services::accounts;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Username or phone number.
    pub login: String,
    pub password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    pub refresh_token: String,
}

pub(crate) fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string())
}

pub async fn login(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    ApiJson(b): ApiJson<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let pair =
        accounts::sessions::login(&ctx, &b.login, &b.password, &client_address(&req)).await?;
    Ok(HttpResponse::Ok().json(pair))
}

pub async fn refresh(
    ctx: web::Data<AppState>,
    ApiJson(b): ApiJson<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(accounts::sessions::refresh(&ctx, &b.refresh_token).await?))
}

pub async fn logout(
    ctx: web::Data<AppState>,
    ApiJson(b): ApiJson<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    accounts::sessions::logout(&ctx, &b.refresh_token).await?;
    Ok(respond::no_content())
}

pub async fn me(ctx: web::Data<AppState>, Auth(p): Auth) -> Result<HttpResponse, ApiError> {
    let u = crate::services::registry::me::me(&ctx, &p).await?;
    Ok(respond::versioned(
        actix_web::http::StatusCode::OK,
        &u,
        u.user.version,
    ))
}
