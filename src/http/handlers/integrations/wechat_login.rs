//! The mini-program sign-in: `/auth/wechat/login`, `/auth/wechat/bind`, `/me/wechat`.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, RequestId};
use crate::http::handlers::accounts::auth::client_address;
use crate::http::handlers::ok;
use crate::http::respond;
use crate::services::integrations::wechat_login::{self as svc, BindInput, Login, LoginInput};
use crate::state::AppState;

/// 200 with the tokens, or 200 with `binding_required` and a ticket.
pub async fn login(
    ctx: web::Data<AppState>,
    ApiJson(input): ApiJson<LoginInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(match svc::login(&ctx, &input).await? {
        Login::Tokens(pair) => ok(&pair),
        Login::BindingRequired(b) => ok(&b),
    })
}

pub async fn bind(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    rid: RequestId,
    ApiJson(input): ApiJson<BindInput>,
) -> Result<HttpResponse, ApiError> {
    let pair = svc::bind(&ctx, &input, &client_address(&req), Some(&rid.0)).await?;
    Ok(ok(&pair))
}

pub async fn unbind(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    rid: RequestId,
) -> Result<HttpResponse, ApiError> {
    svc::unbind(&ctx, p.user_id, Some(&rid.0)).await?;
    Ok(respond::no_content())
}
