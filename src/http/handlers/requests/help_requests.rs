//! Help requests (诉求), their lifecycle actions, offers and the dispatch console.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, Scoped, encode_cursor, page_request, scopes};
use crate::http::handlers::requests::tables;
use crate::http::handlers::{PageQuery, action, ok};
use crate::http::respond;
use crate::http::tabular::{self, Negotiated};
use crate::services::registry::exclusions;
use crate::services::requests::listing::{self, ListQuery};
use crate::services::requests::{actions, batch, offers, placing, reports, view};
use crate::state::AppState;

pub async fn place(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::RequestsWrite>,
    ApiJson(input): ApiJson<placing::PlaceInput>,
) -> Result<HttpResponse, ApiError> {
    let v = placing::place(&ctx, &p, input).await?;
    Ok(respond::versioned(StatusCode::CREATED, &v, v.version))
}

pub async fn get(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::RequestsRead>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let v = view::get(&ctx, &p, *id).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}

/// The filters and the page come from the same query string; each reads its own fields.
pub async fn list(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::RequestsRead>,
    filters: web::Query<ListQuery>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        listing::list(&ctx, &p, filters.into_inner(), page).await?,
    ))
}

pub async fn timeline(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::RequestsRead>,
    id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(view::timeline(&ctx, &p, *id, page).await?))
}

action!(triage => actions::triage, actions::TriageInput);
action!(start => actions::start);
action!(give_back => actions::give_back, actions::ReasonInput);
action!(complete => actions::complete, actions::CompleteInput);
action!(rate => actions::rate, actions::RatingInput);
action!(claim => actions::claim);
action!(dispatch => offers::dispatch_by_hand, offers::DispatchInput);
action!(accept => offers::accept);

/// Cancels: also the integration client that placed the request.
pub async fn cancel(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::RequestsWrite>,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<actions::ReasonInput>,
) -> Result<HttpResponse, ApiError> {
    let v = actions::cancel(&ctx, &p, *id, input).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}

pub async fn offers_of(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let items = offers::of_request(&ctx, &p, *id).await?;
    Ok(respond::items(items))
}

pub async fn candidates(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&offers::explain(&ctx, &p, *id).await?))
}

pub async fn my_offers(ctx: web::Data<AppState>, Auth(p): Auth) -> Result<HttpResponse, ApiError> {
    let items = offers::mine(&ctx, &p).await?;
    Ok(respond::items(items))
}

pub async fn decline(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<offers::DeclineInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&offers::decline(&ctx, &p, *id, input).await?))
}

pub async fn batch(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<batch::BatchInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&batch::batch(&ctx, &p, *community_id, input).await?))
}

pub async fn three_rates(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::ReportsRead>,
    community_id: web::Path<Uuid>,
    q: web::Query<reports::RatesQuery>,
    Negotiated(format): Negotiated,
) -> Result<HttpResponse, ApiError> {
    let r = reports::three_rates(&ctx, &p, *community_id, q.into_inner()).await?;
    tabular::respond(format, &r, tables::three_rates)
}

pub async fn hours(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
    Negotiated(format): Negotiated,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let mut v = reports::hours(&ctx, &p, *id, page).await?;
    v.next_cursor = v.next_after.map(encode_cursor);
    tabular::respond(format, &v, tables::hours)
}

pub async fn exclusions(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&exclusions::exclusions(&ctx, &p, *id).await?))
}

pub async fn exclude(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, volunteer) = path.into_inner();
    Ok(ok(&exclusions::set_exclusion(
        &ctx, &p, id, volunteer, true,
    )
    .await?))
}

pub async fn unexclude(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, volunteer) = path.into_inner();
    exclusions::set_exclusion(&ctx, &p, id, volunteer, false).await?;
    Ok(respond::no_content())
}
