//! Activities: plan, read, the lifecycle, the sessions; enrolments.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::domain::activity::Action;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, page_request};
use crate::http::handlers::{PageQuery, ok};
use crate::http::respond;
use crate::services::activities::enrolments;
use crate::services::activities::plans as svc;
use crate::state::AppState;

pub async fn create(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::ActivityInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::create(&ctx, &p, *community_id, input).await?;
    Ok(respond::versioned(StatusCode::CREATED, &v, v.version))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        svc::list(&ctx, &p, *community_id, page).await?,
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

macro_rules! lifecycle {
    ($($name:ident => $action:expr),* $(,)?) => {$(
        pub async fn $name(
            ctx: web::Data<AppState>,
            Auth(p): Auth,
            id: web::Path<Uuid>,
        ) -> Result<HttpResponse, ApiError> {
            let v = svc::act(&ctx, &p, *id, $action).await?;
            Ok(respond::versioned(StatusCode::OK, &v, v.version))
        }
    )*};
}

lifecycle!(
    publish => Action::Publish,
    complete => Action::Complete,
    cancel => Action::Cancel,
);

pub async fn sessions(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(respond::items(svc::sessions(&ctx, &p, *id).await?))
}

pub async fn enrol(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<enrolments::EnrolInput>,
) -> Result<HttpResponse, ApiError> {
    let v = enrolments::enrol(&ctx, &p, *id, input).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(v))
}

pub async fn enrolments(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(respond::items(enrolments::list(&ctx, &p, *id).await?))
}

pub async fn enrolment(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&enrolments::get(&ctx, &p, *id).await?))
}

pub async fn withdraw(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&enrolments::withdraw(&ctx, &p, *id).await?))
}
