//! Thin handlers: parse, call a service with the caller, map the result.
//!
//! One folder per capability, as in `services`; `audit` and `health` beside them. Helpers
//! every handler uses (list queries, lifecycle actions, the registry's create/update/deactivate
//! shapes) live here.

pub mod accounts;
pub mod activities;
pub mod audit;
pub mod deliberation;
pub mod delivery;
pub mod docs;
pub mod health;
pub mod imports;
pub mod integrations;
pub mod mediation;
pub mod mobilisation;
pub mod notices;
pub mod open311;
pub mod records;
pub mod registry;
pub mod requests;
pub mod visits;

use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

/// `?limit=…&cursor=…`, for lists that take no filters (or read them from a query of their own).
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// 200 with the body as JSON.
pub fn ok<T: Serialize>(v: &T) -> HttpResponse {
    HttpResponse::Ok().json(v)
}

/// `?include_inactive=true&limit=…&cursor=…` for the simple registry lists.
#[derive(Debug, Deserialize)]
pub struct SimpleListQuery {
    #[serde(default)]
    pub include_inactive: bool,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The handlers every registry object shares: `update` (merge patch) and `deactivate`, each
/// against the object's version, and with `$input` a `create` in a community. `$svc` is its
/// service module, imported as `svc` with what the handlers name.
macro_rules! registry_handlers {
    ($svc:path, $input:ty) => {
        $crate::http::handlers::registry_handlers!($svc);

        pub async fn create(
            ctx: web::Data<AppState>,
            Auth(p): Auth,
            community_id: web::Path<Uuid>,
            ApiJson(input): ApiJson<$input>,
        ) -> Result<HttpResponse, ApiError> {
            let v = svc::create(&ctx, &p, *community_id, input).await?;
            Ok(respond::versioned(StatusCode::CREATED, &v, v.version))
        }
    };
    ($svc:path) => {
        use actix_web::http::StatusCode;
        use actix_web::{HttpResponse, web};
        use serde_json::Value;
        use uuid::Uuid;

        use $crate::http::error::ApiError;
        use $crate::http::extract::{ApiJson, Auth, IfMatch, OptionalIfMatch};
        use $crate::http::respond;
        use $crate::state::AppState;
        use $svc as svc;

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

/// `get` by id, with the version as ETag; after `registry_handlers!`.
macro_rules! get_handler {
    () => {
        pub async fn get(
            ctx: web::Data<AppState>,
            Auth(p): Auth,
            id: web::Path<Uuid>,
        ) -> Result<HttpResponse, ApiError> {
            let v = svc::get(&ctx, &p, *id).await?;
            Ok(respond::versioned(StatusCode::OK, &v, v.version))
        }
    };
}
pub(crate) use get_handler;

/// `get` by id and the plain community-scoped list.
macro_rules! simple_reads {
    () => {
        $crate::http::handlers::get_handler!();

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

/// A lifecycle action on `/<objects>/{id}/…` (a help request's, a visit's): the service's answer
/// is the object itself, with its new version as the ETag.
macro_rules! action {
    ($name:ident => $call:path) => {
        pub async fn $name(
            ctx: actix_web::web::Data<$crate::state::AppState>,
            $crate::http::extract::Auth(p): $crate::http::extract::Auth,
            id: actix_web::web::Path<uuid::Uuid>,
        ) -> Result<actix_web::HttpResponse, $crate::http::error::ApiError> {
            let v = $call(&ctx, &p, *id).await?;
            Ok($crate::http::respond::versioned(
                actix_web::http::StatusCode::OK,
                &v,
                v.version,
            ))
        }
    };
    ($name:ident => $call:path, $input:ty) => {
        pub async fn $name(
            ctx: actix_web::web::Data<$crate::state::AppState>,
            $crate::http::extract::Auth(p): $crate::http::extract::Auth,
            id: actix_web::web::Path<uuid::Uuid>,
            $crate::http::extract::ApiJson(input): $crate::http::extract::ApiJson<$input>,
        ) -> Result<actix_web::HttpResponse, $crate::http::error::ApiError> {
            let v = $call(&ctx, &p, *id, input).await?;
            Ok($crate::http::respond::versioned(
                actix_web::http::StatusCode::OK,
                &v,
                v.version,
            ))
        }
    };
}
pub(crate) use action;
