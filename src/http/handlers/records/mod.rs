//! Volunteer records and certificates: the record, issuing, listing and revoking certificates,
//! and the public verification of a certificate by its number (no sign-in; limited per caller
//! address by the deployment's limiter).

pub mod hours;
pub mod points;
pub mod tables;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, Scoped, page_request, rate_limited, scopes};
use crate::http::handlers::{PageQuery, ok};
use crate::http::respond;
use crate::http::tabular::{self, Negotiated};
use crate::services::records::certificates::{self, IssueInput, RevokeInput};
use crate::services::records::{community_hours as hours_report, record};
use crate::state::AppState;

pub async fn get_record(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    Negotiated(format): Negotiated,
) -> Result<HttpResponse, ApiError> {
    let r = record::record(&ctx, &p, *id).await?;
    tabular::respond(format, &r, tables::record)
}

/// The community's hours per volunteer over a period, as JSON or a spreadsheet.
pub async fn community_hours(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::ReportsRead>,
    community_id: web::Path<Uuid>,
    q: web::Query<hours_report::HoursQuery>,
    Negotiated(format): Negotiated,
) -> Result<HttpResponse, ApiError> {
    let r = hours_report::report(&ctx, &p, *community_id, q.into_inner()).await?;
    tabular::respond(format, &r, tables::community_hours)
}

pub async fn issue(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<IssueInput>,
) -> Result<HttpResponse, ApiError> {
    let c = certificates::issue(&ctx, &p, *id, input).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(c))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        certificates::list(&ctx, &p, *id, page).await?,
    ))
}

pub async fn revoke(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    number: web::Path<String>,
    ApiJson(input): ApiJson<RevokeInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&certificates::revoke(&ctx, &p, &number, input).await?))
}

pub async fn verify(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if let Some(addr) = req.peer_addr() {
        rate_limited(&req, ctx.rate_limits.check_address(addr.ip()))?;
    }
    Ok(ok(&certificates::verify(&ctx, &number).await?))
}
