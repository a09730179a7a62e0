use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::http::error::ApiError;
use crate::http::metrics::Metrics;
use crate::state::AppState;

/// The process is alive.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers and every migration is applied.
pub async fn readyz(ctx: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if ctx.db.is_ready().await {
        Ok(HttpResponse::Ok().json(json!({"status": "ready", "database": ctx.db.backend()})))
    } else {
        Err(ApiError::Unavailable)
    }
}

pub async fn metrics(m: web::Data<Metrics>, ctx: web::Data<AppState>) -> HttpResponse {
    let streams = format!(
        "# HELP huying_streams_open Live streams (/me/events) open in this instance.\n\
         # TYPE huying_streams_open gauge\nhuying_streams_open {}\n",
        ctx.inbox_signal.streams()
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(m.render() + &streams)
}

pub const OPENAPI: &str = include_str!("../../../openapi.yaml");

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI)
}
