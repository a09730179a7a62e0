//! Cross-cutting request handling: request ids, problem documents in the caller's language,
//! access logs and metrics; CORS; `Location` on 201s. `Idempotency-Key` replay is in `idempotency`.

use std::time::Instant;

use actix_cors::{Cors, CorsError};
use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use tracing::Instrument;
use uuid::Uuid;

use super::error::{ApiError, PROBLEM_JSON};
use super::extract::{RequestId, check_query};
use super::i18n::Lang;
use super::metrics::Metrics;
use super::respond;
use super::routes::CreatedAt;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    ok.then(|| v.to_string())
}

/// Outermost middleware: every response leaves with `X-Request-Id`, every error as a problem
/// document in the caller's language, and every request is logged and counted. A query string
/// with a control character is refused here, for every route, before a handler reads it.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let request_id = incoming_request_id(&req).unwrap_or_else(|| Uuid::now_v7().to_string());
    let lang = Lang::from_headers(req.headers());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().to_string();
    let path = req.path().to_string();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, path = %path);

    let res = match check_query(req.query_string()) {
        Err(e) => req.error_response(e),
        Ok(()) => next
            .call(req)
            .instrument(span.clone())
            .await?
            .map_into_boxed_body(),
    };

    let mut res = finish_problem(res, lang, &request_id, &span);
    res.headers_mut().insert(
        REQUEST_ID,
        HeaderValue::from_str(&request_id).unwrap_or(HeaderValue::from_static("invalid")),
    );
    rate_limit_headers(&mut res);
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let elapsed = started.elapsed();
    if let Some(m) = metrics {
        m.observe(&method, &route, status, elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(status, route = %route, latency_ms = elapsed.as_secs_f64() * 1000.0, "request finished");
    });
    Ok(res)
}

/// The `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers) of a request a limit was
/// checked for (a client's), on whatever it was answered.
fn rate_limit_headers(res: &mut ServiceResponse<BoxBody>) {
    let Some(d) = res
        .request()
        .extensions()
        .get::<crate::rate_limit::Decision>()
        .copied()
    else {
        return;
    };
    let h = res.headers_mut();
    h.insert(
        HeaderName::from_static("ratelimit-limit"),
        HeaderValue::from(d.limit),
    );
    h.insert(
        HeaderName::from_static("ratelimit-remaining"),
        HeaderValue::from(d.remaining),
    );
    h.insert(
        HeaderName::from_static("ratelimit-reset"),
        HeaderValue::from(d.reset_secs),
    );
}

/// Re-renders error responses as problem documents with language and request id, keeping the
/// headers other layers gave them (CORS, `Vary`); logs server errors with their cause, which
/// never reaches the client. Client errors are the client's: the access log says enough.
pub(super) fn finish_problem(
    res: ServiceResponse<BoxBody>,
    lang: Lang,
    request_id: &str,
    span: &tracing::Span,
) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    // Protocols with error formats of their own (OAuth 2.0, Open311) answer in them.
    if res
        .response()
        .extensions()
        .get::<respond::OwnErrorFormat>()
        .is_some()
    {
        return res;
    }
    let mut rendered = match res.response().error() {
        Some(e) => match e.as_error::<ApiError>() {
            Some(api) => {
                if let ApiError::Internal(msg) = api {
                    span.in_scope(|| tracing::error!(error = %msg, "internal error"));
                }
                api.render(lang, Some(request_id))
            }
            None => foreign_problem(e, status, span).render(lang, Some(request_id)),
        },
        None => {
            let is_problem = res
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
            if is_problem {
                return res;
            }
            ApiError::from_status(status).render(lang, Some(request_id))
        }
    };
    let kept: Vec<(HeaderName, HeaderValue)> = res
        .headers()
        .iter()
        .filter(|(name, _)| !rendered.headers().contains_key(*name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    for (name, value) in kept {
        rendered.headers_mut().append(name, value);
    }
    res.into_response(rendered)
}

/// An error raised outside our code (actix-web, actix-cors) as a problem. Only a server fault
/// is an ERROR: a client's is in the access log already.
fn foreign_problem(e: &Error, status: StatusCode, span: &tracing::Span) -> ApiError {
    let _in = span.enter();
    if e.as_error::<CorsError>().is_some() {
        tracing::debug!(error = %e, "CORS preflight refused");
        return ApiError::bad_request("cors_rejected");
    }
    if status.is_server_error() {
        tracing::error!(error = %e, status = status.as_u16(), "framework error");
    } else {
        tracing::debug!(error = %e, status = status.as_u16(), "framework error");
    }
    ApiError::from_status(status)
}

/// CORS for browser consoles on the configured origins. Requests from other origins are
/// answered as usual without CORS headers (the browser then withholds the answer); their
/// preflights are refused. Tokens travel in `Authorization`, never in cookies: no credentials.
pub fn cors(origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            HeaderName::from_static("idempotency-key"),
            // What `EventSource` sends when it reconnects to `/me/events`.
            HeaderName::from_static("last-event-id"),
            REQUEST_ID,
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::ALLOW,
            header::CONTENT_LANGUAGE,
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("idempotent-replayed"),
            REQUEST_ID,
        ])
        .max_age(3600);
    origins.iter().fold(cors, |c, o| c.allowed_origin(o))
}

/// Gives a 201 the `Location` of what it created, from the route's `created` template and the
/// answer; outside `idempotency`, so that a replayed 201 has it too.
pub async fn created_location(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    if res.status() != StatusCode::CREATED || res.headers().contains_key(header::LOCATION) {
        return Ok(res);
    }
    let template = res.request().match_pattern().and_then(|pattern| {
        let created = res.request().app_data::<web::Data<CreatedAt>>()?;
        created.0.get(pattern.as_str()).copied()
    });
    let Some(template) = template else {
        return Ok(res);
    };
    let path = res.request().path().to_string();
    let (http_req, response) = res.into_parts();
    let (head, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body).await else {
        let e = ApiError::Internal("unreadable body".into());
        return Ok(ServiceResponse::new(http_req, HttpResponse::from_error(e)));
    };
    let location =
        respond::location(template, &path, &bytes).and_then(|l| HeaderValue::from_str(&l).ok());
    let mut response = head.set_body(bytes).map_into_boxed_body();
    match location {
        Some(l) => {
            response.headers_mut().insert(header::LOCATION, l);
        }
        None => tracing::error!(
            template,
            "a created object's answer does not fill its Location"
        ),
    }
    Ok(ServiceResponse::new(http_req, response))
}
