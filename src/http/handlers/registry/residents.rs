crate::http::handlers::registry_handlers!(
    crate::services::registry::residents,
    crate::services::registry::residents::ResidentInput
);

use serde::Deserialize;

use crate::http::extract::{RequestId, Scoped, page_request, scopes};
use crate::services::registry::residents::{ListQuery, Reveal};

#[derive(Deserialize)]
pub struct GetQuery {
    #[serde(default)]
    pub reveal: bool,
    pub reason: Option<String>,
}

pub async fn get(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::ResidentsRead>,
    id: web::Path<Uuid>,
    q: web::Query<GetQuery>,
    rid: RequestId,
) -> Result<HttpResponse, ApiError> {
    if let Some(reason) = &q.reason {
        svc::check_reason_length(reason)?;
    }
    let reveal = q.reveal.then(|| Reveal {
        reason: q.reason.as_deref().unwrap_or(""),
        request_id: Some(&rid.0),
    });
    let v = svc::get(&ctx, &p, *id, reveal).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}

#[derive(Deserialize)]
pub struct ResidentListQuery {
    pub grid_id: Option<Uuid>,
    pub care_level: Option<String>,
    pub care_category: Option<String>,
    pub q: Option<String>,
    #[serde(default)]
    pub include_inactive: bool,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn list(
    ctx: web::Data<AppState>,
    Scoped(p, _): Scoped<scopes::ResidentsRead>,
    community_id: web::Path<Uuid>,
    q: web::Query<ResidentListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let q = q.into_inner();
    let query = ListQuery {
        grid_id: q.grid_id,
        care_level: q.care_level,
        care_category: q.care_category,
        q: q.q,
        include_inactive: q.include_inactive,
    };
    Ok(respond::page(
        svc::list(&ctx, &p, *community_id, query, page).await?,
    ))
}
