//! 未呼先应: grades and assessments, visit plans, visits, major changes and coverage.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, RequestId, Scoped, page_request, scopes};
use crate::http::handlers::visits::tables;
use crate::http::handlers::{PageQuery, action, ok};
use crate::http::respond;
use crate::http::tabular::{self, Negotiated};
use crate::services::visits::{completion, coverage, generation, grading, visits as svc};
use crate::state::AppState;

pub async fn assess(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<grading::AssessmentInput>,
) -> Result<HttpResponse, ApiError> {
    let v = grading::assess(&ctx, &p, *id, input).await?;
    Ok(HttpResponse::Created().json(v))
}

pub async fn assessments(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        grading::assessments(&ctx, &p, *id, page).await?,
    ))
}

pub async fn grade(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&grading::current(&ctx, &p, *id).await?))
}

pub async fn set_grade(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<grading::GradeInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&grading::set(&ctx, &p, *id, input).await?))
}

pub async fn grade_changes(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(grading::history(&ctx, &p, *id, page).await?))
}

pub async fn major_change(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::MajorChangeInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::report_major_change(&ctx, &p, *id, input).await?;
    Ok(HttpResponse::Created().json(v))
}

pub async fn generate(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&generation::generate_now(&ctx, &p, *community_id).await?))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<svc::VisitQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        svc::list(&ctx, &p, q.into_inner(), page).await?,
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

action!(start => svc::start);
action!(complete => completion::complete, completion::CompleteInput);
action!(cancel => svc::cancel, crate::services::requests::actions::ReasonInput);

pub async fn coverage(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::ReportsRead>,
    community_id: web::Path<Uuid>,
    q: web::Query<coverage::CoverageQuery>,
    Negotiated(format): Negotiated,
) -> Result<HttpResponse, ApiError> {
    let r = coverage::report(&ctx, &p, *community_id, q.into_inner()).await?;
    tabular::respond(format, &r, tables::coverage)
}
