//! `/wechat-apps`: the deployment's WeChat mini-program apps, for admins.

crate::http::handlers::registry_handlers!(crate::services::integrations::wechat_apps);
crate::http::handlers::get_handler!();

use crate::http::extract::page_request;
use crate::http::handlers::SimpleListQuery;
use crate::services::integrations::wechat_apps::WechatAppInput;

pub async fn create(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    ApiJson(input): ApiJson<WechatAppInput>,
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
