//! 议事 deliberation: topics, their meeting, the residents' vote and the decision.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, IfMatch, page_request};
use crate::http::handlers::{PageQuery, action, ok};
use crate::http::respond;
use crate::services::deliberation::ballots::{self, BallotInput};
use crate::services::deliberation::topics::{
    self as svc, DecisionInput, DropInput, MeetingInput, TopicInput,
};
use crate::services::deliberation::votes::{self, VoteInput};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn create(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<TopicInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::raise(&ctx, &p, *community_id, input).await?;
    Ok(respond::versioned(StatusCode::CREATED, &v, v.version))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        svc::list(&ctx, &p, *community_id, q.status.as_deref(), page).await?,
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

action!(schedule => svc::schedule, MeetingInput);
action!(open_vote => votes::open_vote, VoteInput);
action!(close_vote => votes::close_vote);
action!(decide => svc::decide, DecisionInput);
action!(drop => svc::drop, DropInput);

pub async fn cast(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<BallotInput>,
) -> Result<HttpResponse, ApiError> {
    let v = ballots::cast(&ctx, &p, *id, input).await?;
    Ok(HttpResponse::Created().json(v))
}

pub async fn change(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    ApiJson(input): ApiJson<BallotInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&ballots::change(&ctx, &p, *id, input).await?))
}

pub async fn mine(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&ballots::mine(&ctx, &p, *id).await?))
}

pub async fn results(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&ballots::results(&ctx, &p, *id).await?))
}

pub async fn ballots(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(ballots::list(&ctx, &p, *id, page).await?))
}
