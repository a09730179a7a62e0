//! `/users/{id}/wechat`: a person's WeChat identity, recorded by staff.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth};
use crate::http::handlers::ok;
use crate::http::respond;
use crate::services::integrations::wechat_identities::{self as svc, IdentityInput};
use crate::state::AppState;

pub async fn get(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    user_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::get(&ctx, &p, *user_id).await?))
}

pub async fn put(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    user_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<IdentityInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::put(&ctx, &p, *user_id, input).await?))
}

pub async fn delete(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    user_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    svc::delete(&ctx, &p, *user_id).await?;
    Ok(respond::no_content())
}
