//! Visit plans: create, update (merge patch), end, and the reads.

crate::http::handlers::registry_handlers!(
    crate::services::visits::plans,
    crate::services::visits::plans::PlanInput
);

use crate::http::extract::page_request;

pub async fn get(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::get(&ctx, &p, *id).await?;
    Ok(respond::versioned(StatusCode::OK, &v, v.version))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    community_id: web::Path<Uuid>,
    q: web::Query<svc::PlanQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        svc::list(&ctx, &p, *community_id, q.into_inner(), page).await?,
    ))
}
