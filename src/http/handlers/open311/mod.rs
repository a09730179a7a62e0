//! Open311 GeoReport v2 at `/open311/v2`, every path in JSON (`.json`) and XML (`.xml`).
//! Parameters come from the query (GET) or a form body (POST); errors are Open311's lists in
//! the format of the path, with the status of the first error. Reads without a key are limited
//! per caller address (`HUYING_ADDRESS_RATE_*`).

pub mod triage;
mod xml;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::open311::{Open311Error, Params};
use crate::domain::text::has_forbidden_control;
use crate::http::extract::read_body;
use crate::http::respond::OwnErrorFormat;
use crate::services::ServiceError;
use crate::services::open311::{Failure, Open311Result, catalogue, requests};
use crate::state::AppState;

/// A posted request is a few fields of at most a few kilobytes each.
const BODY_LIMIT: usize = 32 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

fn body(
    format: Format,
    status: StatusCode,
    root: &str,
    item: Option<&str>,
    v: &Value,
) -> HttpResponse {
    let mut b = HttpResponse::build(status);
    match format {
        Format::Json => b.content_type("application/json").body(v.to_string()),
        Format::Xml => b
            .content_type("text/xml; charset=utf-8")
            .body(xml::document(root, item, v)),
    }
}

fn errors(format: Format, list: &[Open311Error], retry_after: Option<u64>) -> HttpResponse {
    let code = list.first().map(|e| e.code).unwrap_or(400);
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    let v = Value::Array(
        list.iter()
            .map(|e| json!({"code": e.code, "description": e.description}))
            .collect(),
    );
    let mut res = body(format, status, "errors", Some("error"), &v);
    if let Some(s) = retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(s));
    }
    res.extensions_mut().insert(OwnErrorFormat);
    res
}

fn failure(format: Format, f: Failure) -> HttpResponse {
    match f {
        Failure::Client(list) => errors(format, &list, None),
        Failure::Service(ServiceError::Unavailable) => errors(
            format,
            &[Open311Error::new(
                503,
                "the service is unavailable; try again shortly",
            )],
            Some(1),
        ),
        Failure::Service(e) => {
            tracing::error!(error = %e, "open311 request failed");
            errors(format, &[Open311Error::new(500, "internal error")], None)
        }
    }
}

fn answer<T: Serialize>(
    format: Format,
    root: &str,
    item: Option<&str>,
    r: Open311Result<T>,
) -> HttpResponse {
    match r.and_then(|v| {
        serde_json::to_value(v).map_err(|e| Failure::Service(ServiceError::Internal(e.to_string())))
    }) {
        Ok(v) => body(format, StatusCode::OK, root, item, &v),
        Err(f) => failure(format, f),
    }
}

fn params_of(raw: &[u8]) -> Result<Params, Failure> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // A NUL must never reach the database (PostgreSQL refuses it).
    if let Some((k, _)) = pairs
        .iter()
        .find(|(k, v)| has_forbidden_control(k) || has_forbidden_control(v))
    {
        let name = if has_forbidden_control(k) {
            "parameter name"
        } else {
            k.as_str()
        };
        return Err(Open311Error::bad(name, "holds control characters").into());
    }
    Ok(Params::new(pairs)?)
}

/// The query's parameters, after the allowance of reads without a key.
fn read_params(
    ctx: &web::Data<AppState>,
    req: &HttpRequest,
) -> Result<Params, (Failure, Option<u64>)> {
    let p = params_of(req.query_string().as_bytes()).map_err(|f| (f, None))?;
    if p.get("api_key").is_none()
        && let Some(addr) = req.peer_addr()
    {
        // The deployment's per-address limiter; its `RateLimit-*` headers go on the answer.
        match ctx.rate_limits.check_address(addr.ip()) {
            Ok(d) => {
                actix_web::HttpMessage::extensions_mut(req).insert(d);
            }
            Err(l) => {
                actix_web::HttpMessage::extensions_mut(req).insert(l.decision);
                return Err((
                    Open311Error::new(429, "too many requests without an api_key; slow down")
                        .into(),
                    Some(l.retry_after_secs),
                ));
            }
        }
    }
    Ok(p)
}

fn refused(format: Format, (f, wait): (Failure, Option<u64>)) -> HttpResponse {
    match (f, wait) {
        (Failure::Client(list), Some(s)) => errors(format, &list, Some(s)),
        (f, _) => failure(format, f),
    }
}

fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

async fn discovery(ctx: web::Data<AppState>, req: HttpRequest, format: Format) -> HttpResponse {
    if let Err(e) = read_params(&ctx, &req) {
        return refused(format, e);
    }
    answer(
        format,
        "discovery",
        None,
        Ok(catalogue::discovery(&base_url(&req))),
    )
}

async fn services(ctx: web::Data<AppState>, req: HttpRequest, format: Format) -> HttpResponse {
    match read_params(&ctx, &req) {
        Ok(p) => answer(
            format,
            "services",
            Some("service"),
            catalogue::services(&ctx, &p).await,
        ),
        Err(e) => refused(format, e),
    }
}

async fn definition(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
    format: Format,
) -> HttpResponse {
    match read_params(&ctx, &req) {
        Ok(p) => answer(
            format,
            "service_definition",
            None,
            catalogue::definition(&ctx, &p, code.as_str()).await,
        ),
        Err(e) => refused(format, e),
    }
}

async fn list(ctx: web::Data<AppState>, req: HttpRequest, format: Format) -> HttpResponse {
    match read_params(&ctx, &req) {
        Ok(p) => answer(
            format,
            "service_requests",
            Some("request"),
            requests::list(&ctx, &p).await,
        ),
        Err(e) => refused(format, e),
    }
}

async fn get(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    format: Format,
) -> HttpResponse {
    match read_params(&ctx, &req) {
        Ok(p) => answer(
            format,
            "service_requests",
            Some("request"),
            requests::get(&ctx, &p, id.as_str()).await,
        ),
        Err(e) => refused(format, e),
    }
}

async fn token(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    format: Format,
) -> HttpResponse {
    match read_params(&ctx, &req) {
        Ok(p) => answer(
            format,
            "service_requests",
            Some("request"),
            requests::token(&ctx, &p, token.as_str()).await,
        ),
        Err(e) => refused(format, e),
    }
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|e| {
            e.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

async fn post(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
    format: Format,
) -> HttpResponse {
    if !is_form(&req) {
        let e = Open311Error::new(415, "the body must be application/x-www-form-urlencoded");
        return errors(format, &[e], None);
    }
    let mut payload: Payload = payload.into_inner();
    let raw = match read_body(&req, &mut payload, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            let e = Open311Error::new(413, "the body is larger than 32 KiB or unreadable");
            return errors(format, &[e], None);
        }
    };
    // Parameters may come in the query too (some clients send api_key there); both count, and
    // a name in both is a name given twice.
    let mut all = req.query_string().as_bytes().to_vec();
    if !all.is_empty() && !raw.is_empty() {
        all.push(b'&');
    }
    all.extend_from_slice(&raw);
    let r = match params_of(&all) {
        Ok(p) => requests::post(&ctx, &p).await,
        Err(f) => Err(f),
    };
    answer(format, "service_requests", Some("request"), r)
}

macro_rules! both_formats {
    ($($json:ident, $xml:ident => $inner:ident($($arg:ident: $ty:ty),*);)*) => {$(
        pub async fn $json(ctx: web::Data<AppState>, req: HttpRequest $(, $arg: $ty)*) -> HttpResponse {
            $inner(ctx, req $(, $arg)*, Format::Json).await
        }
        pub async fn $xml(ctx: web::Data<AppState>, req: HttpRequest $(, $arg: $ty)*) -> HttpResponse {
            $inner(ctx, req $(, $arg)*, Format::Xml).await
        }
    )*};
}

both_formats! {
    discovery_json, discovery_xml => discovery();
    services_json, services_xml => services();
    definition_json, definition_xml => definition(path: web::Path<String>);
    list_json, list_xml => list();
    get_json, get_xml => get(path: web::Path<String>);
    token_json, token_xml => token(path: web::Path<String>);
    post_json, post_xml => post(payload: web::Payload);
}
