use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, IfMatch, page_request};
use crate::http::respond;
use crate::services::accounts;
use crate::services::accounts::users::{RoleInput, UserInput};
use crate::state::AppState;

pub async fn create(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    ApiJson(input): ApiJson<UserInput>,
) -> Result<HttpResponse, ApiError> {
    let u = accounts::users::create_user(&ctx, &p, input).await?;
    Ok(respond::versioned(StatusCode::CREATED, &u, u.version))
}

#[derive(Deserialize)]
pub struct ListQuery {
    pub community_id: Option<Uuid>,
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        accounts::users::list_users(&ctx, &p, q.community_id, q.q.as_deref(), page).await?,
    ))
}

pub async fn get(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let u = accounts::users::get_user(&ctx, &p, *id).await?;
    Ok(respond::versioned(StatusCode::OK, &u, u.version))
}

pub async fn update(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    IfMatch(version): IfMatch,
    ApiJson(changes): ApiJson<Value>,
) -> Result<HttpResponse, ApiError> {
    let u = accounts::users::update_user(&ctx, &p, *id, version, &changes).await?;
    Ok(respond::versioned(StatusCode::OK, &u, u.version))
}

pub async fn grant(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<RoleInput>,
) -> Result<HttpResponse, ApiError> {
    let g = accounts::users::grant_role(&ctx, &p, *id, input).await?;
    Ok(HttpResponse::Created().json(g))
}

pub async fn revoke(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (user_id, grant_id) = path.into_inner();
    accounts::users::revoke_role(&ctx, &p, user_id, grant_id).await?;
    Ok(respond::no_content())
}
