//! `POST /oauth/token` (RFC 6749 §4.4): a form body in, a token or a §5.2 error out, never
//! cached. Its errors are OAuth's JSON, not problem documents: that is what OAuth clients parse.

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use crate::http::extract::read_body;
use crate::http::respond::OwnErrorFormat;
use crate::services::integrations::oauth::{self, OAuthError, TokenRequest};
use crate::state::AppState;

/// A token request is a few short fields.
const BODY_LIMIT: usize = 4096;

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    error_description: &'static str,
}

fn no_store(status: StatusCode) -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    b
}

fn error(e: OAuthError) -> HttpResponse {
    let status = match &e {
        OAuthError::InvalidClient => StatusCode::UNAUTHORIZED,
        OAuthError::Service(crate::services::ServiceError::Unavailable) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        OAuthError::Service(s) => {
            tracing::error!(error = %s, "token request failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let mut b = no_store(status);
    if matches!(e, OAuthError::InvalidClient) {
        // §5.2 requires the challenge when Basic was tried; one that sent its secret in the body
        // gets the same answer, so nothing tells the two apart.
        b.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="huying""#));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        b.insert_header((header::RETRY_AFTER, "1"));
    }
    let mut res = b.json(ErrorBody {
        error: e.error(),
        error_description: e.description(),
    });
    res.extensions_mut().insert(OwnErrorFormat);
    res
}

/// `Authorization: Basic` credentials: `None` when no Basic header came, `Some(None)` when it
/// did not decode. §2.3.1: id and secret are form-encoded before they are joined.
fn basic(req: &HttpRequest) -> Option<Option<(String, String)>> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    Some(decoded.and_then(|s| {
        let (id, secret) = s.split_once(':')?;
        let unform = |x: &str| {
            url::form_urlencoded::parse(format!("x={x}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        Some((unform(id)?, unform(secret)?))
    }))
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

pub async fn token(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let basic = basic(&req);
    if !is_form(&req) {
        return error(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut payload: Payload = payload.into_inner();
    let body = match read_body(&req, &mut payload, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return error(OAuthError::InvalidRequest(
                "the body is too large or unreadable",
            ));
        }
    };
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if params.iter().any(|(k, v)| {
        crate::domain::text::has_forbidden_control(k)
            || crate::domain::text::has_forbidden_control(v)
    }) {
        return error(OAuthError::InvalidRequest(
            "control characters are not allowed",
        ));
    }
    match oauth::grant(&ctx, TokenRequest { params, basic }).await {
        Ok(t) => no_store(StatusCode::OK).json(t),
        Err(e) => error(e),
    }
}
