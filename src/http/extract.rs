//! Request extractors: the caller, JSON bodies with field-level errors, versions, paging.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::error::ApiError;
use crate::auth::Principal;
use crate::auth::jwt::Subject;
use crate::domain::FieldError;
use crate::domain::scope::Scope;
use crate::domain::text::{has_forbidden_control, is_forbidden_control};
use crate::services::{PageRequest, accounts, integrations, patch};
use crate::state::AppState;

pub fn state(req: &HttpRequest) -> Result<&web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("AppState missing".into()))
}

/// The authenticated person. 401 for a missing, invalid or expired token, or a disabled user;
/// 403 `client_not_allowed` for an integration client's token: an endpoint serves clients only
/// by taking [`Scoped`] instead, naming the scope it needs.
pub struct Auth(pub Principal);

pub fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let ctx = state(&req)?;
            match subject(ctx, &req)? {
                Subject::User(user_id) => Ok(Auth(user_principal(ctx, user_id).await?)),
                Subject::Client { .. } => Err(ApiError::Forbidden("client_not_allowed")),
            }
        })
    }
}

fn subject(ctx: &AppState, req: &HttpRequest) -> Result<Subject, ApiError> {
    let token = bearer(req).ok_or(ApiError::Unauthorized("missing_token"))?;
    ctx.jwt
        .verify_subject(token)
        .ok_or(ApiError::Unauthorized("invalid_token"))
}

async fn user_principal(ctx: &AppState, user_id: Uuid) -> Result<Principal, ApiError> {
    accounts::sessions::principal(ctx, user_id)
        .await?
        .ok_or(ApiError::Unauthorized("user_disabled"))
}

/// The outcome of a rate limit check (`ctx.rate_limits.check_client` or `check_address`) for
/// this request: recorded for the `RateLimit-*` headers the request middleware adds to the
/// answer, and 429 `rate_limited` with `Retry-After` when the bucket is empty.
pub fn rate_limited(
    req: &HttpRequest,
    outcome: Result<crate::rate_limit::Decision, crate::rate_limit::Limited>,
) -> Result<(), ApiError> {
    let decision = match outcome {
        Ok(d) => d,
        Err(l) => l.decision,
    };
    req.extensions_mut().insert(decision);
    match outcome {
        Ok(_) => Ok(()),
        Err(l) => Err(ApiError::RateLimited {
            code: "rate_limited",
            retry_after_secs: l.retry_after_secs,
        }),
    }
}

/// The scope an endpoint open to integration clients requires of them.
pub trait RequiredScope {
    const SCOPE: Scope;
}

/// Marker types naming a scope, for [`Scoped`].
pub mod scopes {
    use super::{RequiredScope, Scope};

    macro_rules! markers {
        ($($name:ident),+) => { $(
            pub struct $name;
            impl RequiredScope for $name {
                const SCOPE: Scope = Scope::$name;
            }
        )+ };
    }
    markers!(
        RequestsRead,
        RequestsWrite,
        ResidentsRead,
        ReportsRead,
        WebhooksManage,
        Open311
    );
}

/// The caller of an endpoint that integration clients may call with scope `S` as well as
/// people: a person as with [`Auth`]; a client whose token carries `S` (403
/// `insufficient_scope` otherwise) and that is not revoked nor rotated past the token (401).
/// What the client may see there is still the service's to decide ([`Principal::client_may`]).
pub struct Scoped<S>(pub Principal, pub std::marker::PhantomData<S>);

impl<S: RequiredScope + 'static> FromRequest for Scoped<S> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let ctx = state(&req)?;
            let principal = match subject(ctx, &req)? {
                Subject::User(user_id) => user_principal(ctx, user_id).await?,
                Subject::Client {
                    id,
                    scope,
                    generation,
                } => {
                    let client =
                        integrations::clients::principal_for_token(ctx, id, &scope, generation)
                            .await?
                            .ok_or(ApiError::Unauthorized("invalid_token"))?;
                    rate_limited(
                        &req,
                        ctx.rate_limits
                            .check_client(id, client.rate_per_minute, client.burst),
                    )?;
                    if !client
                        .principal
                        .client
                        .as_ref()
                        .is_some_and(|c| c.scopes.contains(S::SCOPE))
                    {
                        return Err(ApiError::InsufficientScope(S::SCOPE.as_str()));
                    }
                    client.principal
                }
            };
            Ok(Scoped(principal, std::marker::PhantomData))
        })
    }
}

/// The request id given to this request by the request middleware.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl FromRequest for RequestId {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or(RequestId(String::new()));
        std::future::ready(Ok(id))
    }
}

/// Reads the whole body up to the configured limit.
pub async fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("malformed_json"))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// `s` with the refused control characters made visible, for naming it in a problem document.
fn shown(s: &str) -> String {
    s.chars()
        .map(|c| {
            if is_forbidden_control(c) {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// Every string of the document holding a refused control character, keys included, by JSON
/// path (`emergency_contacts[0].name`; a bad key is named with the bad characters shown as
/// U+FFFD). Checked on the whole document before deserialising, so that a plain `String` field
/// (a login, a reason, a policy kept as JSON) obeys the same rule as the domain's text types.
fn control_characters(value: &Value, path: &mut String, found: &mut Vec<FieldError>) {
    let bad = |path: &str, found: &mut Vec<FieldError>| {
        found.push(FieldError {
            field: path.to_string(),
            code: "invalid_characters",
        })
    };
    let len = path.len();
    match value {
        Value::String(s) if has_forbidden_control(s) => bad(path, found),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                control_characters(item, path, found);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&shown(key));
                if has_forbidden_control(key) {
                    bad(path, found);
                } else {
                    control_characters(item, path, found);
                }
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Parses a body as JSON; syntax errors are 400, control characters in any string and wrong
/// shapes 422 with the field's path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let malformed = |e: &serde_json::Error| ApiError::BadRequest {
        code: "malformed_json",
        detail: Some(format!("line {} column {}", e.line(), e.column())),
    };
    // A first, untyped pass finds the bad strings wherever they are; the typed pass below
    // stays on the bytes so that its errors (duplicate fields, paths) are serde's own.
    let document: Value = serde_json::from_slice(bytes).map_err(|e| malformed(&e))?;
    let mut found = Vec::new();
    control_characters(&document, &mut String::new(), &mut found);
    if !found.is_empty() {
        return Err(ApiError::Validation(found));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            malformed(&inner)
        } else {
            ApiError::Validation(vec![patch::serde_field_error(&path, &inner.to_string())])
        }
    })?;
    de.end().map_err(|e| malformed(&e))?;
    // Every body of this API is an object; serde would take `[]` for a struct whose fields are
    // all optional.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::Validation(vec![FieldError {
            field: String::new(),
            code: "invalid_value",
        }]));
    }
    Ok(value)
}

/// A JSON body of type `T` (also accepts `application/merge-patch+json`).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json(&req) {
                return Err(ApiError::UnsupportedMediaType);
            }
            let limit = state(&req)?.config.body_limit_bytes;
            let body = read_body(&req, &mut payload, limit).await?;
            parse_json(&body).map(ApiJson)
        })
    }
}

/// Refuses a query string with a refused control character (see
/// [`crate::domain::text::is_forbidden_control`]) in a parameter's name or value, once they
/// are percent-decoded as `web::Query` decodes them. Checked for every request by the request
/// middleware, before any handler reads its query: a NUL in `q` or `reason` must never reach
/// the database (PostgreSQL refuses it; SQLite matched every row).
pub fn check_query(query: &str) -> Result<(), ApiError> {
    if query.is_empty() {
        return Ok(());
    }
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query).map_err(|e| {
        ApiError::BadRequest {
            code: "invalid_query",
            detail: Some(e.to_string()),
        }
    })?;
    match pairs
        .iter()
        .find(|(k, v)| has_forbidden_control(k) || has_forbidden_control(v))
    {
        Some((k, _)) => Err(ApiError::BadRequest {
            code: "invalid_query",
            detail: Some(format!("{}: control character", shown(k))),
        }),
        None => Ok(()),
    }
}

/// The version named by `If-Match`; required on updates.
pub struct IfMatch(pub i64);
/// The version named by `If-Match`, when given (deactivation).
pub struct OptionalIfMatch(pub Option<i64>);

fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(v) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| ApiError::bad_request("invalid_header"))?
        .trim();
    let s = s.strip_prefix("W/").unwrap_or(s);
    let digits = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(ApiError::bad_request("invalid_header"))?;
    // A well-formed version beyond 64 bits names no version any object has: stale, like any
    // other that does not match, once the object is found.
    Ok(Some(digits.parse::<i64>().unwrap_or(NO_VERSION)))
}

/// Matches no object's version (versions start at 1).
const NO_VERSION: i64 = -1;

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            if_match(req).and_then(|v| v.map(IfMatch).ok_or(ApiError::PreconditionRequired)),
        )
    }
}

impl FromRequest for OptionalIfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(if_match(req).map(OptionalIfMatch))
    }
}

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// `limit` 1..=200 (default 50) and an opaque `cursor` from a previous page.
pub fn page_request(limit: Option<i64>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::Validation(vec![FieldError {
            field: "limit".into(),
            code: "out_of_range",
        }]));
    }
    let after = match cursor {
        None | Some("") => None,
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| Uuid::from_slice(&b).ok())
                .ok_or(ApiError::Validation(vec![FieldError {
                    field: "cursor".into(),
                    code: "invalid_value",
                }]))?,
        ),
    };
    Ok(PageRequest { after, limit })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_limits_are_bounded() {
        let id = Uuid::now_v7();
        let p = page_request(Some(10), Some(&encode_cursor(id))).unwrap();
        assert_eq!((p.after, p.limit), (Some(id), 10));
        assert!(page_request(Some(0), None).is_err());
        assert!(page_request(Some(201), None).is_err());
        assert!(page_request(None, Some("!!")).is_err());
        assert_eq!(page_request(None, None).unwrap().limit, DEFAULT_PAGE);
    }

    #[test]
    fn json_errors_say_which_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            a: i64,
        }
        assert!(matches!(
            parse_json::<T>(b"{"),
            Err(ApiError::BadRequest {
                code: "malformed_json",
                ..
            })
        ));
        let Err(ApiError::Validation(e)) = parse_json::<T>(br#"{"a": "x"}"#) else {
            panic!()
        };
        assert_eq!((e[0].field.as_str(), e[0].code), ("a", "invalid_value"));
        let Err(ApiError::Validation(e)) = parse_json::<T>(b"{}") else {
            panic!()
        };
        assert_eq!((e[0].field.as_str(), e[0].code), ("a", "required"));
        assert!(parse_json::<T>(br#"{"a": 1} trailing"#).is_err());
    }

    fn field_codes(e: ApiError) -> Vec<(String, &'static str)> {
        let ApiError::Validation(e) = e else {
            panic!("{e:?}")
        };
        e.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn control_characters_anywhere_in_a_body_are_refused_by_path() {
        let body = br#"{"login": "admin\u0000", "a": [{"b": "x\u001b[31m"}, "ok"],
                        "policy": {"k\u0000ey": 1, "note": "\u0085"}, "text": "a\tb\r\nc"}"#;
        let e = parse_json::<serde_json::Value>(body).unwrap_err();
        let mut codes = field_codes(e);
        codes.sort();
        assert_eq!(
            codes,
            vec![
                ("a[0].b".to_string(), "invalid_characters"),
                ("login".to_string(), "invalid_characters"),
                ("policy.k\u{fffd}ey".to_string(), "invalid_characters"),
                ("policy.note".to_string(), "invalid_characters"),
            ]
        );
        // Before its shape is looked at: a NUL in a field of the wrong type is still named.
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            a: i64,
        }
        assert_eq!(
            field_codes(parse_json::<T>(br#"{"a": "\u0000"}"#).unwrap_err()),
            vec![("a".to_string(), "invalid_characters")]
        );
        // Tab and line breaks are text; a NUL that is not in a string is no JSON at all.
        assert!(parse_json::<serde_json::Value>(br#"{"a": "x\ty\r\nz"}"#).is_ok());
        assert!(matches!(
            parse_json::<serde_json::Value>(b"{\"a\": \"\0\"}"),
            Err(ApiError::BadRequest {
                code: "malformed_json",
                ..
            })
        ));
    }

    #[test]
    fn control_characters_in_a_query_are_refused() {
        for ok in [
            "",
            "q=%E5%AD%99",
            "q=a+b&limit=3",
            "reason=a%09b",
            "q=%0A",
            "q=%ZZ",
        ] {
            assert!(check_query(ok).is_ok(), "{ok}");
        }
        for bad in [
            "q=%00",
            "q=a%00b",
            "a=1&q=%1B",
            "q=%7F",
            "q=%C2%85",
            "%00=1",
            "q%01=1",
        ] {
            let Err(ApiError::BadRequest { code, detail }) = check_query(bad) else {
                panic!("{bad}")
            };
            assert_eq!(code, "invalid_query", "{bad}");
            assert!(detail.unwrap().contains("control character"), "{bad}");
        }
    }
}
