crate::http::handlers::registry_handlers!(crate::services::registry::communities);
crate::http::handlers::get_handler!();

use crate::http::extract::page_request;
use crate::http::handlers::SimpleListQuery;
use crate::services::registry::communities::CommunityInput;

/// A community lies in no community: its path names none.
pub async fn create(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    ApiJson(input): ApiJson<CommunityInput>,
) -> Result<HttpResponse, ApiError> {
    let v = svc::create(&ctx, &p, input).await?;
    Ok(respond::versioned(StatusCode::CREATED, &v, v.version))
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    q: web::Query<SimpleListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    Ok(respond::page(
        svc::list(&ctx, &p, q.include_inactive, page).await?,
    ))
}
