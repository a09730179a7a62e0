//! The route table: the one list of every endpoint, used to build the router and checked
//! against `openapi.yaml` by the contract test.

use actix_web::{HttpResponse, Route, web};

use super::error::ApiError;
use super::handlers::accounts::{auth, users};
use super::handlers::registry::{
    communities, grids, invitations, residents, service_types, teams, volunteers,
};
use super::handlers::requests::help_requests;
use super::handlers::visits::{plans as visit_plans, visits};
use super::handlers::{audit, health};

pub struct RouteDef {
    pub method: &'static str,
    pub path: &'static str,
    pub route: Route,
}

macro_rules! table {
    ($( $m:ident $p:literal => $h:path ),* $(,)?) => {
        vec![ $( RouteDef { method: stringify!($m), path: $p, route: web::$m().to($h) } ),* ]
    };
}

pub fn table() -> Vec<RouteDef> {
    table![
        get "/healthz" => health::healthz,
        get "/readyz" => health::readyz,
        get "/metrics" => health::metrics,
        get "/openapi.yaml" => health::openapi,

        post "/api/v1/auth/login" => auth::login,
        post "/api/v1/auth/refresh" => auth::refresh,
        post "/api/v1/auth/logout" => auth::logout,
        get "/api/v1/me" => auth::me,
        post "/api/v1/me/invitations/accept" => invitations::accept,
        post "/api/v1/communities/{id}/invitations" => invitations::create,

        post "/api/v1/users" => users::create,
        get "/api/v1/users" => users::list,
        get "/api/v1/users/{id}" => users::get,
        patch "/api/v1/users/{id}" => users::update,
        post "/api/v1/users/{id}/roles" => users::grant,
        delete "/api/v1/users/{id}/roles/{grant_id}" => users::revoke,

        post "/api/v1/communities" => communities::create,
        get "/api/v1/communities" => communities::list,
        get "/api/v1/communities/{id}" => communities::get,
        patch "/api/v1/communities/{id}" => communities::update,
        delete "/api/v1/communities/{id}" => communities::deactivate,
        get "/api/v1/communities/{id}/audit-log" => audit::list,

        post "/api/v1/communities/{id}/grids" => grids::create,
        get "/api/v1/communities/{id}/grids" => grids::list,
        get "/api/v1/grids/{id}" => grids::get,
        patch "/api/v1/grids/{id}" => grids::update,
        delete "/api/v1/grids/{id}" => grids::deactivate,

        post "/api/v1/communities/{id}/residents" => residents::create,
        get "/api/v1/communities/{id}/residents" => residents::list,
        get "/api/v1/residents/{id}" => residents::get,
        patch "/api/v1/residents/{id}" => residents::update,
        delete "/api/v1/residents/{id}" => residents::deactivate,

        post "/api/v1/communities/{id}/volunteers" => volunteers::create,
        get "/api/v1/communities/{id}/volunteers" => volunteers::list,
        get "/api/v1/volunteers/{id}" => volunteers::get,
        patch "/api/v1/volunteers/{id}" => volunteers::update,
        delete "/api/v1/volunteers/{id}" => volunteers::deactivate,

        post "/api/v1/communities/{id}/teams" => teams::create,
        get "/api/v1/communities/{id}/teams" => teams::list,
        get "/api/v1/teams/{id}" => teams::get,
        patch "/api/v1/teams/{id}" => teams::update,
        delete "/api/v1/teams/{id}" => teams::deactivate,

        post "/api/v1/communities/{id}/service-types" => service_types::create,
        get "/api/v1/communities/{id}/service-types" => service_types::list,
        get "/api/v1/service-types/{id}" => service_types::get,
        patch "/api/v1/service-types/{id}" => service_types::update,
        delete "/api/v1/service-types/{id}" => service_types::deactivate,

        get "/api/v1/residents/{id}/exclusions" => help_requests::exclusions,
        put "/api/v1/residents/{id}/exclusions/{volunteer_id}" => help_requests::exclude,
        delete "/api/v1/residents/{id}/exclusions/{volunteer_id}" => help_requests::unexclude,

        post "/api/v1/help-requests" => help_requests::place,
        get "/api/v1/help-requests" => help_requests::list,
        get "/api/v1/help-requests/{id}" => help_requests::get,
        get "/api/v1/help-requests/{id}/timeline" => help_requests::timeline,
        get "/api/v1/help-requests/{id}/offers" => help_requests::offers_of,
        get "/api/v1/help-requests/{id}/candidates" => help_requests::candidates,
        post "/api/v1/help-requests/{id}/triage" => help_requests::triage,
        post "/api/v1/help-requests/{id}/dispatch" => help_requests::dispatch,
        post "/api/v1/help-requests/{id}/claim" => help_requests::claim,
        post "/api/v1/help-requests/{id}/start" => help_requests::start,
        post "/api/v1/help-requests/{id}/return" => help_requests::give_back,
        post "/api/v1/help-requests/{id}/complete" => help_requests::complete,
        post "/api/v1/help-requests/{id}/rating" => help_requests::rate,
        post "/api/v1/help-requests/{id}/cancel" => help_requests::cancel,

        get "/api/v1/offers" => help_requests::my_offers,
        post "/api/v1/offers/{id}/accept" => help_requests::accept,
        post "/api/v1/offers/{id}/decline" => help_requests::decline,

        post "/api/v1/communities/{id}/dispatch/batch" => help_requests::batch,
        get "/api/v1/communities/{id}/reports/three-rates" => help_requests::three_rates,
        get "/api/v1/volunteers/{id}/hours" => help_requests::hours,

        get "/api/v1/residents/{id}/grade" => visits::grade,
        put "/api/v1/residents/{id}/grade" => visits::set_grade,
        get "/api/v1/residents/{id}/grade-changes" => visits::grade_changes,
        post "/api/v1/residents/{id}/assessments" => visits::assess,
        get "/api/v1/residents/{id}/assessments" => visits::assessments,
        post "/api/v1/residents/{id}/major-changes" => visits::major_change,

        post "/api/v1/communities/{id}/visit-plans" => visit_plans::create,
        get "/api/v1/communities/{id}/visit-plans" => visit_plans::list,
        get "/api/v1/visit-plans/{id}" => visit_plans::get,
        patch "/api/v1/visit-plans/{id}" => visit_plans::update,
        delete "/api/v1/visit-plans/{id}" => visit_plans::deactivate,

        post "/api/v1/communities/{id}/visits/generate" => visits::generate,
        get "/api/v1/visits" => visits::list,
        get "/api/v1/visits/{id}" => visits::get,
        post "/api/v1/visits/{id}/start" => visits::start,
        post "/api/v1/visits/{id}/complete" => visits::complete,
        post "/api/v1/visits/{id}/cancel" => visits::cancel,
        get "/api/v1/communities/{id}/reports/visit-coverage" => visits::coverage,
    ]
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

pub async fn route_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("route_not_found"))
}

/// Registers every route, one resource per path, with 405 (a problem document) for other
/// methods. Unknown paths go to `route_not_found`, installed as the app's default service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut paths: Vec<&'static str> = Vec::new();
    let mut routes = table();
    for r in &routes {
        if !paths.contains(&r.path) {
            paths.push(r.path);
        }
    }
    for path in paths {
        let mut resource = web::resource(path).default_service(web::to(method_not_allowed));
        let (mine, rest): (Vec<_>, Vec<_>) = routes.into_iter().partition(|r| r.path == path);
        routes = rest;
        for r in mine {
            resource = resource.route(r.route);
        }
        cfg.service(resource);
    }
}
