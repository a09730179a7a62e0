//! Thin handlers: parse, call a service with the caller, map the result.
//!
//! One folder per capability, as in `services`; `audit` and `health` beside them. Helpers
//! every handler uses (list queries, lifecycle actions, the registry's create/update/deactivate
//! shapes) live here.

pub mod accounts;
pub mod audit;
pub mod health;
pub mod registry;
pub mod requests;
pub mod visits;

use serde::Deserialize;

/// `?include_inactive=true&limit=…&cursor=…` for the simple registry lists.
#[derive(Debug, Deserialize)]
pub struct SimpleListQuery {
    #[serde(default)]
    pub include_inactive: bool,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The create / get / update / deactivate handlers every registry object shares; `$svc` is its
/// service module and `$input` its input type.
macro_rules! registry_handlers {
    ($svc:path, $input:ty) => {
        use actix_web::http::StatusCode;
        use actix_web::{HttpResponse, web};
        use serde_json::Value;
        use uuid::Uuid;

        use $crate::http::error::ApiError;
        use $crate::http::extract::{ApiJson, Auth, IfMatch, OptionalIfMatch};
        use $crate::http::respond;
        use $crate::state::AppState;
        use $svc as svc;

        pub async fn create(
            ctx: web::Data<AppState>,
            Auth(p): Auth,
            community_id: web::Path<Uuid>,
            ApiJson(input): ApiJson<$input>,
        ) -> Result<HttpResponse, ApiError> {
            let v = svc::create(&ctx, &p, *community_id, input).await?;
            Ok(respond::versioned(StatusCode::CREATED, &v, v.version))
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

        pub async fn deactivate(
            ctx: web::Data<AppState>,
            Auth(p): Auth,
            id: web::Path<Uuid>,
            OptionalIfMatch(version): OptionalIfMatch,
        ) -> Result<HttpResponse, ApiError> {
            svc::deactivate(&ctx, &p, *id, version).await?;
            Ok(respond::no_content())
        }
    };
}
pub(crate) use registry_handlers;

/// `get` by id and the plain community-scoped list.
macro_rules! simple_reads {
    () => {
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
            q: web::Query<$crate::http::handlers::SimpleListQuery>,
        ) -> Result<HttpResponse, ApiError> {
            let page = $crate::http::extract::page_request(q.limit, q.cursor.as_deref())?;
            Ok(respond::page(
                svc::list(&ctx, &p, *community_id, q.include_inactive, page).await?,
            ))
        }
    };
}
pub(crate) use simple_reads;
