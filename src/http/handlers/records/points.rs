//! The time bank: a volunteer's balance and entries, and redemptions.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth, encode_cursor, page_request};
use crate::http::handlers::PageQuery;
use crate::services::records::points as svc;
use crate::state::AppState;

#[derive(Serialize)]
struct PointsBody {
    volunteer_id: Uuid,
    balance: i64,
    items: Vec<svc::PointEntryView>,
    next_cursor: Option<String>,
}

pub async fn get(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    volunteer_id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let v = svc::get(&ctx, &p, *volunteer_id, page).await?;
    Ok(HttpResponse::Ok().json(PointsBody {
        volunteer_id: v.volunteer_id,
        balance: v.balance,
        items: v.entries.items,
        next_cursor: v.entries.next_after.map(encode_cursor),
    }))
}

pub async fn redeem(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    volunteer_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::RedemptionInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::redeem(&ctx, &p, *volunteer_id, input).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(v))
}
