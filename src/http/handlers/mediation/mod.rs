//! 调解 mediation: cases, their sessions and outcome, and the counts report.

mod tables;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::mediation::OutcomeInput;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, IfMatch, RequestId, page_request};
use crate::http::respond;
use crate::http::tabular::{self, Negotiated};
use crate::services::mediation::cases::{self as svc, Filter, MediationInput};
use crate::services::mediation::report;
use crate::services::mediation::sessions::{self, SessionInput};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn create(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<MediationInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::create(&ctx, &p, *community_id, input).await?;
    Ok(respond::versioned(StatusCode::CREATED, &v, v.version))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let q = q.into_inner();
    let filter = Filter {
        status: q.status,
        kind: q.kind,
    };
    Ok(respond::page(
        svc::list(&ctx, &p, *community_id, filter, page).await?,
    ))
}

pub async fn get(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    rid: RequestId,
) -> Result<HttpResponse, ApiError> {
    let v = svc::get(&ctx, &p, *id, Some(&rid.0)).await?;
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

pub async fn add_session(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<SessionInput>,
) -> Result<HttpResponse, ApiError> {
    let v = sessions::add_session(&ctx, &p, *id, input).await?;
    Ok(HttpResponse::Created().json(v))
}

pub async fn sessions(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    rid: RequestId,
) -> Result<HttpResponse, ApiError> {
    Ok(respond::items(
        sessions::sessions(&ctx, &p, *id, Some(&rid.0)).await?,
    ))
}

pub async fn close(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<OutcomeInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::close(&ctx, &p, *id, input).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}

pub async fn report(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<report::ReportQuery>,
    Negotiated(format): Negotiated,
) -> Result<HttpResponse, ApiError> {
    let r = report::report(&ctx, &p, *community_id, q.into_inner()).await?;
    tabular::respond(format, &r, tables::mediations)
}
