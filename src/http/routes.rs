//! The route table: the one list of every endpoint, used to build the router and checked
//! against `openapi.yaml` by the contract test. Each path answers `HEAD` wherever it answers
//! `GET`, and 405 with `Allow` for any other method; a creating `POST` names where its new
//! object lives, for the `Location` of its 201.

use std::collections::HashMap;

use actix_web::http::Method;
use actix_web::{HttpResponse, Route, guard, web};

use super::error::ApiError;
use super::handlers::accounts::{auth, users};
use super::handlers::activities::{
    guardians as activity_guardians, plans as activity, sessions as activity_sessions,
};
use super::handlers::deliberation as topics;
use super::handlers::delivery::{events, notifications, webhooks, wechat_messages};
use super::handlers::imports;
use super::handlers::integrations::{clients, oauth, wechat_apps, wechat_identities, wechat_login};
use super::handlers::mediation;
use super::handlers::mobilisation::{
    attendance as mobilisation_attendance, mobilisations, responses as mobilisation_responses,
    signups as mobilisation_signups,
};
use super::handlers::notices;
use super::handlers::open311;
use super::handlers::records;
use super::handlers::registry::{
    communities, grids, invitations, residents, service_types, teams, volunteers,
};
use super::handlers::requests::help_requests;
use super::handlers::visits::{plans as visit_plans, visits};
use super::handlers::{audit, docs, health};

pub struct RouteDef {
    pub method: &'static str,
    pub path: &'static str,
    pub route: Route,
    /// For a `POST` answering 201: the new object's URL, filled from the answer by
    /// `respond::location`.
    pub created: Option<&'static str>,
}

macro_rules! table {
    ($( $m:ident $p:literal => $h:path $(=> $created:literal)? ),* $(,)?) => {
        vec![ $( RouteDef {
            method: stringify!($m),
            path: $p,
            route: route_for(stringify!($m)).to($h),
            created: None $( .or(Some($created)) )?,
        } ),* ]
    };
}

/// A route for one method; `get` also takes `HEAD` (actix-http sends no body for it).
fn route_for(method: &str) -> Route {
    match method {
        "get" => web::route().guard(guard::Any(guard::Get()).or(guard::Head())),
        m => web::method(Method::from_bytes(m.to_uppercase().as_bytes()).expect("a method")),
    }
}

pub fn table() -> Vec<RouteDef> {
    table![
        get "/healthz" => health::healthz,
        get "/readyz" => health::readyz,
        get "/metrics" => health::metrics,
        get "/openapi.yaml" => health::openapi,
        get "/docs" => docs::page,
        get "/docs/redoc-2.5.4.standalone.js" => docs::redoc,

        post "/api/v1/auth/login" => auth::login,
        post "/api/v1/auth/refresh" => auth::refresh,
        post "/api/v1/auth/logout" => auth::logout,
        // The mini-program sign-in: a wx.login code, and binding the WeChat identity once.
        post "/api/v1/auth/wechat/login" => wechat_login::login,
        post "/api/v1/auth/wechat/bind" => wechat_login::bind,
        delete "/api/v1/me/wechat" => wechat_login::unbind,
        get "/api/v1/me" => auth::me,
        post "/api/v1/me/invitations/accept" => invitations::accept,
        post "/api/v1/communities/{id}/invitations" => invitations::create => "/api/v1/invitations/{id}",
        get "/api/v1/invitations/{id}" => invitations::get,

        post "/api/v1/users" => users::create => "/api/v1/users/{id}",
        get "/api/v1/users" => users::list,
        get "/api/v1/users/{id}" => users::get,
        patch "/api/v1/users/{id}" => users::update,
        post "/api/v1/users/{id}/roles" => users::grant => "{path}/{id}",
        delete "/api/v1/users/{id}/roles/{grant_id}" => users::revoke,

        post "/api/v1/communities" => communities::create => "/api/v1/communities/{id}",
        get "/api/v1/communities" => communities::list,
        get "/api/v1/communities/{id}" => communities::get,
        patch "/api/v1/communities/{id}" => communities::update,
        delete "/api/v1/communities/{id}" => communities::deactivate,
        get "/api/v1/communities/{id}/audit-log" => audit::list,

        post "/api/v1/communities/{id}/grids" => grids::create => "/api/v1/grids/{id}",
        get "/api/v1/communities/{id}/grids" => grids::list,
        get "/api/v1/grids/{id}" => grids::get,
        patch "/api/v1/grids/{id}" => grids::update,
        delete "/api/v1/grids/{id}" => grids::deactivate,

        post "/api/v1/communities/{id}/residents" => residents::create => "/api/v1/residents/{id}",
        get "/api/v1/communities/{id}/residents" => residents::list,
        get "/api/v1/residents/{id}" => residents::get,
        patch "/api/v1/residents/{id}" => residents::update,
        delete "/api/v1/residents/{id}" => residents::deactivate,

        post "/api/v1/communities/{id}/volunteers" => volunteers::create => "/api/v1/volunteers/{id}",
        get "/api/v1/communities/{id}/volunteers" => volunteers::list,
        get "/api/v1/volunteers/{id}" => volunteers::get,
        patch "/api/v1/volunteers/{id}" => volunteers::update,
        delete "/api/v1/volunteers/{id}" => volunteers::deactivate,

        post "/api/v1/communities/{id}/teams" => teams::create => "/api/v1/teams/{id}",
        get "/api/v1/communities/{id}/teams" => teams::list,
        get "/api/v1/teams/{id}" => teams::get,
        patch "/api/v1/teams/{id}" => teams::update,
        delete "/api/v1/teams/{id}" => teams::deactivate,

        post "/api/v1/communities/{id}/service-types" => service_types::create => "/api/v1/service-types/{id}",
        get "/api/v1/communities/{id}/service-types" => service_types::list,
        get "/api/v1/service-types/{id}" => service_types::get,
        patch "/api/v1/service-types/{id}" => service_types::update,
        delete "/api/v1/service-types/{id}" => service_types::deactivate,

        get "/api/v1/residents/{id}/exclusions" => help_requests::exclusions,
        put "/api/v1/residents/{id}/exclusions/{volunteer_id}" => help_requests::exclude,
        delete "/api/v1/residents/{id}/exclusions/{volunteer_id}" => help_requests::unexclude,

        post "/api/v1/help-requests" => help_requests::place => "/api/v1/help-requests/{id}",
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
        post "/api/v1/residents/{id}/assessments" => visits::assess => "{path}",
        get "/api/v1/residents/{id}/assessments" => visits::assessments,
        post "/api/v1/residents/{id}/major-changes" => visits::major_change => "/api/v1/visits/{visit.id}",

        post "/api/v1/communities/{id}/visit-plans" => visit_plans::create => "/api/v1/visit-plans/{id}",
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

        get "/api/v1/me/notifications" => notifications::list,
        get "/api/v1/me/notifications/unread-count" => notifications::unread_count,
        post "/api/v1/me/notifications/read-all" => notifications::read_all,
        post "/api/v1/me/notifications/{id}/read" => notifications::read,

        // Webhooks for third-party systems.
        post "/api/v1/communities/{id}/webhooks" => webhooks::create => "/api/v1/webhooks/{id}",
        get "/api/v1/communities/{id}/webhooks" => webhooks::list,
        get "/api/v1/webhooks/{id}" => webhooks::get,
        patch "/api/v1/webhooks/{id}" => webhooks::update,
        delete "/api/v1/webhooks/{id}" => webhooks::delete,
        get "/api/v1/webhooks/{id}/deliveries" => webhooks::deliveries,
        post "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry" => webhooks::retry,
        post "/api/v1/webhooks/{id}/replay" => webhooks::replay,
        // WeChat subscription messages: the apps, people's identities, what became of each message.
        post "/api/v1/wechat-apps" => wechat_apps::create => "/api/v1/wechat-apps/{id}",
        get "/api/v1/wechat-apps" => wechat_apps::list,
        get "/api/v1/wechat-apps/{id}" => wechat_apps::get,
        patch "/api/v1/wechat-apps/{id}" => wechat_apps::update,
        delete "/api/v1/wechat-apps/{id}" => wechat_apps::deactivate,
        get "/api/v1/users/{id}/wechat" => wechat_identities::get,
        put "/api/v1/users/{id}/wechat" => wechat_identities::put,
        delete "/api/v1/users/{id}/wechat" => wechat_identities::delete,
        get "/api/v1/communities/{id}/wechat-messages" => wechat_messages::list,
        // Third-party integration clients and their OAuth 2.0 token endpoint.
        post "/oauth/token" => oauth::token,
        post "/api/v1/communities/{id}/clients" => clients::create => "/api/v1/clients/{id}",
        get "/api/v1/communities/{id}/clients" => clients::list,
        get "/api/v1/clients/{id}" => clients::get,
        patch "/api/v1/clients/{id}" => clients::update,
        delete "/api/v1/clients/{id}" => clients::revoke,
        post "/api/v1/clients/{id}/rotate-secret" => clients::rotate_secret,
        // Delivery: the live stream (Server-Sent Events) and its tickets.
        get "/api/v1/me/events" => events::stream,
        post "/api/v1/me/events/ticket" => events::ticket,

        // 一呼百应: mobilisations, their lifecycle and the sign-ups with their waiting lists.
        post "/api/v1/communities/{id}/mobilisations" => mobilisations::create => "/api/v1/mobilisations/{id}",
        get "/api/v1/communities/{id}/mobilisations" => mobilisations::list,
        get "/api/v1/mobilisations/{id}" => mobilisations::get,
        post "/api/v1/mobilisations/{id}/publish" => mobilisations::publish,
        post "/api/v1/mobilisations/{id}/close" => mobilisations::close,
        post "/api/v1/mobilisations/{id}/complete" => mobilisations::complete,
        post "/api/v1/mobilisations/{id}/cancel" => mobilisations::cancel,
        post "/api/v1/mobilisations/{id}/signups" => mobilisation_signups::sign_up => "/api/v1/mobilisation-signups/{id}",
        get "/api/v1/mobilisations/{id}/signups" => mobilisation_signups::list,
        get "/api/v1/mobilisation-signups/{id}" => mobilisation_signups::get,
        post "/api/v1/mobilisation-signups/{id}/withdraw" => mobilisation_signups::withdraw,
        // Attendance: check-in/out by place or rotating code, rows by hand, pending hours.
        get "/api/v1/mobilisations/{id}/check-in-code" => mobilisation_attendance::code,
        post "/api/v1/mobilisations/{id}/check-in" => mobilisation_attendance::check_in => "/api/v1/mobilisations/{mobilisation_id}/attendance",
        post "/api/v1/mobilisations/{id}/check-out" => mobilisation_attendance::check_out,
        get "/api/v1/mobilisations/{id}/attendance" => mobilisation_attendance::list,
        post "/api/v1/mobilisations/{id}/attendance" => mobilisation_attendance::record => "/api/v1/mobilisations/{mobilisation_id}/attendance",
        post "/api/v1/mobilisations/{id}/decline" => mobilisation_responses::decline,
        get "/api/v1/mobilisations/{id}/counts" => mobilisation_responses::counts,

        get "/open311/v2/discovery.json" => open311::discovery_json,
        get "/open311/v2/discovery.xml" => open311::discovery_xml,
        get "/open311/v2/services.json" => open311::services_json,
        get "/open311/v2/services.xml" => open311::services_xml,
        get "/open311/v2/services/{service_code}.json" => open311::definition_json,
        get "/open311/v2/services/{service_code}.xml" => open311::definition_xml,
        get "/open311/v2/requests.json" => open311::list_json,
        get "/open311/v2/requests.xml" => open311::list_xml,
        post "/open311/v2/requests.json" => open311::post_json,
        post "/open311/v2/requests.xml" => open311::post_xml,
        get "/open311/v2/requests/{service_request_id}.json" => open311::get_json,
        get "/open311/v2/requests/{service_request_id}.xml" => open311::get_xml,
        get "/open311/v2/tokens/{token}.json" => open311::token_json,
        get "/open311/v2/tokens/{token}.xml" => open311::token_xml,
        // Volunteer records (志愿服务记录) and certificates; verification needs no sign-in.
        get "/api/v1/volunteers/{id}/record" => records::get_record,
        get "/api/v1/communities/{id}/reports/volunteer-hours" => records::community_hours,
        post "/api/v1/volunteers/{id}/certificates" => records::issue => "/api/v1/certificates/{number}",
        get "/api/v1/volunteers/{id}/certificates" => records::list,
        get "/api/v1/certificates/{number}" => records::verify,
        post "/api/v1/certificates/{number}/revoke" => records::revoke,
        // Hours staff approve (all or nothing in bulk), and the time bank.
        get "/api/v1/communities/{id}/hours-entries" => records::hours::list,
        post "/api/v1/communities/{id}/hours-entries/approve" => records::hours::bulk_approve,
        post "/api/v1/communities/{id}/hours-entries/decline" => records::hours::bulk_decline,
        get "/api/v1/volunteers/{id}/hours-entries" => records::hours::of_volunteer,
        post "/api/v1/hours-entries/{id}/approve" => records::hours::approve,
        post "/api/v1/hours-entries/{id}/decline" => records::hours::decline,
        get "/api/v1/volunteers/{id}/points" => records::points::get,
        post "/api/v1/volunteers/{id}/redemptions" => records::points::redeem => "/api/v1/volunteers/{volunteer_id}/points",
        // 审单: staff settle the Open311 requests that wait for a resident.
        get "/api/v1/communities/{id}/open311-requests" => open311::triage::list,
        get "/api/v1/open311-requests/{id}" => open311::triage::get,
        post "/api/v1/open311-requests/{id}/link" => open311::triage::link,
        post "/api/v1/open311-requests/{id}/reject" => open311::triage::reject,
        // 一小: activities, their sessions, guardians, enrolments, sign-in and sign-out.
        post "/api/v1/communities/{id}/activities" => activity::create => "/api/v1/activities/{id}",
        get "/api/v1/communities/{id}/activities" => activity::list,
        get "/api/v1/activities/{id}" => activity::get,
        post "/api/v1/activities/{id}/publish" => activity::publish,
        post "/api/v1/activities/{id}/complete" => activity::complete,
        post "/api/v1/activities/{id}/cancel" => activity::cancel,
        get "/api/v1/activities/{id}/sessions" => activity::sessions,
        post "/api/v1/activities/{id}/enrolments" => activity::enrol => "/api/v1/activity-enrolments/{id}",
        get "/api/v1/activities/{id}/enrolments" => activity::enrolments,
        get "/api/v1/activity-enrolments/{id}" => activity::enrolment,
        post "/api/v1/activity-enrolments/{id}/withdraw" => activity::withdraw,
        get "/api/v1/activities/{id}/attendance" => activity_sessions::attendance,
        post "/api/v1/activity-sessions/{id}/sign-ins" => activity_sessions::sign_in,
        post "/api/v1/activity-sessions/{id}/sign-outs" => activity_sessions::sign_out,
        post "/api/v1/activity-sessions/{id}/complete" => activity_sessions::complete,
        post "/api/v1/residents/{id}/guardians" => activity_guardians::add => "{path}",
        get "/api/v1/residents/{id}/guardians" => activity_guardians::list,
        post "/api/v1/residents/{id}/pickup-people" => activity_guardians::add_pickup => "{path}",
        get "/api/v1/residents/{id}/pickup-people" => activity_guardians::pickups,
        get "/api/v1/me/children" => activity_guardians::my_children,

        // 三务公开: staff write, publish, correct and unpublish; anyone reads the board.
        post "/api/v1/communities/{id}/notices" => notices::create => "/api/v1/notices/{id}",
        get "/api/v1/communities/{id}/notices" => notices::list,
        get "/api/v1/notices/{id}" => notices::get,
        patch "/api/v1/notices/{id}" => notices::update,
        post "/api/v1/notices/{id}/publish" => notices::publish,
        post "/api/v1/notices/{id}/corrections" => notices::correct,
        post "/api/v1/notices/{id}/unpublish" => notices::unpublish,
        get "/api/v1/public/communities/{code}/notices" => notices::public_list,
        get "/api/v1/public/communities/{code}/notices/{id}" => notices::public_get,

        // 调解: confidential cases, their sessions and outcome; counts for reports.
        post "/api/v1/communities/{id}/mediations" => mediation::create => "/api/v1/mediations/{id}",
        get "/api/v1/communities/{id}/mediations" => mediation::list,
        get "/api/v1/mediations/{id}" => mediation::get,
        patch "/api/v1/mediations/{id}" => mediation::update,
        post "/api/v1/mediations/{id}/sessions" => mediation::add_session => "{path}",
        get "/api/v1/mediations/{id}/sessions" => mediation::sessions,
        post "/api/v1/mediations/{id}/outcome" => mediation::close,
        get "/api/v1/communities/{id}/reports/mediations" => mediation::report,
        // 议事: topics, their meeting, the residents' vote and the decision (published as a notice).
        post "/api/v1/communities/{id}/topics" => topics::create => "/api/v1/topics/{id}",
        get "/api/v1/communities/{id}/topics" => topics::list,
        get "/api/v1/topics/{id}" => topics::get,
        patch "/api/v1/topics/{id}" => topics::update,
        post "/api/v1/topics/{id}/meeting" => topics::schedule,
        post "/api/v1/topics/{id}/vote" => topics::open_vote,
        post "/api/v1/topics/{id}/vote/close" => topics::close_vote,
        post "/api/v1/topics/{id}/ballots" => topics::cast => "{path}/mine",
        get "/api/v1/topics/{id}/ballots" => topics::ballots,
        get "/api/v1/topics/{id}/ballots/mine" => topics::mine,
        put "/api/v1/topics/{id}/ballots/mine" => topics::change,
        get "/api/v1/topics/{id}/results" => topics::results,
        post "/api/v1/topics/{id}/decision" => topics::decide,
        post "/api/v1/topics/{id}/drop" => topics::drop,
        // Residents from a spreadsheet (a dry run by default), and the sheet to fill in.
        post "/api/v1/communities/{id}/imports/residents" => imports::residents,
        get "/api/v1/communities/{id}/imports/residents/template.xlsx" => imports::residents_template,
        post "/api/v1/communities/{id}/imports/volunteers" => imports::volunteers,
        get "/api/v1/communities/{id}/imports/volunteers/template.xlsx" => imports::volunteers_template,
    ]
}

/// The `Allow` of each path: its methods, with `HEAD` where it has `GET`.
pub fn allowed_methods(routes: &[RouteDef]) -> HashMap<&'static str, String> {
    let mut by_path: HashMap<&'static str, Vec<String>> = HashMap::new();
    for r in routes {
        let methods = by_path.entry(r.path).or_default();
        methods.push(r.method.to_uppercase());
        if r.method == "get" {
            methods.push("HEAD".into());
        }
    }
    by_path
        .into_iter()
        .map(|(path, methods)| (path, methods.join(", ")))
        .collect()
}

/// Where the objects created by each `POST` live, by route pattern; read by
/// `middleware::created_location`.
pub struct CreatedAt(pub HashMap<&'static str, &'static str>);

pub async fn route_not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("route_not_found"))
}

/// Registers every route, one resource per path, with 405 (a problem document with `Allow`)
/// for other methods. Unknown paths go to `route_not_found`, installed as the app's default
/// service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let routes = table();
    let allow = allowed_methods(&routes);
    let created = routes
        .iter()
        .filter_map(|r| r.created.map(|c| (r.path, c)))
        .collect();
    cfg.app_data(web::Data::new(CreatedAt(created)));
    let mut by_path: Vec<(&'static str, Vec<Route>)> = Vec::new();
    for r in routes {
        match by_path.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, same)) => same.push(r.route),
            None => by_path.push((r.path, vec![r.route])),
        }
    }
    for (path, routes) in by_path {
        let allow = allow[path].clone();
        let not_allowed = web::to(move || {
            let allow = allow.clone();
            async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) }
        });
        let resource = web::resource(path).default_service(not_allowed);
        cfg.service(routes.into_iter().fold(resource, |res, r| res.route(r)));
    }
}
