//! "Can't come" and the live counts of a mobilisation.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, Auth};
use crate::http::handlers::ok;
use crate::services::mobilisation::responses as svc;
use crate::state::AppState;

pub async fn decline(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    mobilisation_id: web::Path<Uuid>,
    ApiJson(input): ApiJson<svc::DeclineInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::decline(&ctx, &p, *mobilisation_id, input).await?))
}

pub async fn counts(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    mobilisation_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&svc::counts(&ctx, &p, *mobilisation_id).await?))
}
