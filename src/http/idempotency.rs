//! `Idempotency-Key` on authenticated POSTs. The first answer is stored and replayed to a retry
//! with the same key and body; the same key with another body is 422; a retry while the first
//! attempt holds the key is 409 with `Retry-After`. Keys are scoped to the user and kept for
//! `Config.idempotency_ttl`.
//!
//! What survives a crash or an outage (see `store::idempotency`): an attempt that never
//! committed loses the key when its lease runs out, and the retry runs the request once; a
//! write that committed but whose answer was lost is answered `303 See Other` to the object it
//! wrote.

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use chrono::Duration;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{RequestId, bearer, read_body};
use super::i18n::Lang;
use super::middleware::finish_problem;
use super::respond::{OneTimeSecret, without_secret};
use crate::crypto::sha256_hex;
use crate::state::AppState;
use crate::store::idempotency::{self, Claim, ClaimOf, Hold, IdempotencyRow, StoredResponse};
use crate::store::now;

pub const REPLAYED: &str = "idempotent-replayed";

fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= 255 && k.chars().all(|c| c.is_ascii_graphic())
}

/// Where a client reads the object a write was about (`WriteTx::subject` kinds).
fn subject_url(kind: &str, id: Uuid) -> Option<String> {
    let collection = match kind {
        // The subject is the topic; what was written is the caller's own ballot on it.
        "topic_ballot" => return Some(format!("/api/v1/topics/{id}/ballots/mine")),
        "help_request" => "help-requests",
        "visit" => "visits",
        "visit_plan" => "visit-plans",
        "resident" => "residents",
        "volunteer" => "volunteers",
        "user" => "users",
        "grid" => "grids",
        "team" => "teams",
        "community" => "communities",
        "service_type" => "service-types",
        "invitation" => "invitations",
        "webhook" => "webhooks",
        "wechat_app" => "wechat-apps",
        "mobilisation" => "mobilisations",
        "mobilisation_signup" => "mobilisation-signups",
        "mediation" => "mediations",
        "topic" => "topics",
        _ => return None,
    };
    Some(format!("/api/v1/{collection}/{id}"))
}

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let key = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_string));
    // Auth endpoints and stream tickets hand out secrets: never stored, never replayed.
    let eligible = req.method() == Method::POST
        && !req.path().starts_with("/api/v1/auth/")
        && req.path() != "/api/v1/me/events/ticket";
    let (Some(key), true) = (key, eligible) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(ctx) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = match key {
        Ok(k) if valid_key(&k) => k,
        _ => return Ok(req.error_response(ApiError::bad_request("invalid_header"))),
    };
    // A client's key is its own: its id is its account's.
    let Some(user) = bearer(req.request())
        .and_then(|t| ctx.jwt.verify_subject(t))
        .map(|s| s.id())
    else {
        // Unauthenticated POSTs (login, refresh) are not replayed; the handler answers 401 or runs.
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let (http_req, payload) = req.parts_mut();
    // A spreadsheet import's body is a file, with its own limit.
    let limit = if http_req.path().contains("/imports/") {
        crate::domain::import_sheet::MAX_BYTES
    } else {
        ctx.config.body_limit_bytes
    };
    let body = match read_body(http_req, payload, limit).await {
        Ok(b) => b,
        Err(e) => return Ok(req.error_response(e)),
    };
    let mut fingerprint =
        format!("{} {}?{}\n", req.method(), req.path(), req.query_string()).into_bytes();
    fingerprint.extend_from_slice(&body);
    let hash = sha256_hex(&fingerprint);
    let hold = Hold {
        scope: format!("user:{user}"),
        key,
        attempt: Uuid::now_v7(),
    };
    let t = now();
    let lease = Duration::from_std(ctx.config.idempotency_lease).unwrap_or(Duration::seconds(30));
    let ttl = Duration::from_std(ctx.config.idempotency_ttl).unwrap_or(Duration::hours(24));
    let claim = ClaimOf {
        scope: &hold.scope,
        key: &hold.key,
        request_hash: &hash,
        attempt: hold.attempt,
        now: t,
        lease_until: t + lease,
        expired_before: t - ttl,
    };
    match idempotency::claim(&ctx.db, &claim).await {
        Err(e) => {
            let e = ApiError::from(crate::services::ServiceError::from(e));
            return Ok(req.error_response(e));
        }
        Ok(Claim::Existing(row)) => return Ok(answer_existing(req, row, &hash)),
        Ok(Claim::Claimed) => {}
    }
    req.set_payload(body.into());
    let lang = Lang::from_headers(req.headers());
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    // Rendered now, so that a replay answers exactly what the first caller saw.
    let res = finish_problem(
        hold.clone()
            .run(next.call(req))
            .await?
            .map_into_boxed_body(),
        lang,
        &request_id,
        &tracing::Span::current(),
    );
    let status = res.status();
    if status.is_server_error() {
        // In the background: when the database is away, waiting for it again would only delay
        // the 503; the lease frees the key if this fails.
        let db = ctx.db.clone();
        tokio::spawn(async move {
            if let Err(e) = idempotency::release(&db, &hold).await {
                tracing::warn!(error = %e, "could not release an idempotency key; it frees when its lease ends");
            }
        });
        return Ok(res.map_into_boxed_body());
    }
    let (http_req, response) = res.into_parts();
    let header_of = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (content_type, etag) = (header_of(header::CONTENT_TYPE), header_of(header::ETAG));
    let (head, body) = response.into_parts();
    let bytes = match to_bytes(body).await {
        Ok(b) => b,
        Err(_) => {
            return Ok(ServiceResponse::new(
                http_req,
                HttpResponse::from_error(ApiError::Internal("unreadable body".into())),
            ));
        }
    };
    // A secret shown once is not kept: a replay answers without it.
    let kept = head
        .extensions()
        .get::<OneTimeSecret>()
        .map(|_| without_secret(&bytes));
    let stored = StoredResponse {
        status: status.as_u16(),
        content_type: content_type.as_deref(),
        etag: etag.as_deref(),
        body: kept.as_deref().unwrap_or(&bytes),
    };
    if let Err(e) = idempotency::complete(&ctx.db, &hold, stored).await {
        tracing::error!(error = %e, "could not store idempotent response");
    }
    Ok(ServiceResponse::new(
        http_req,
        head.set_body(bytes).map_into_boxed_body(),
    ))
}

/// The answer to a retry whose key another attempt claimed first.
fn answer_existing(req: ServiceRequest, row: IdempotencyRow, hash: &str) -> ServiceResponse {
    if row.request_hash != hash {
        return req.error_response(ApiError::Unprocessable("idempotency_key_reused"));
    }
    if let (Some(status), Some(stored)) = (row.status_code, row.response_body) {
        let mut res = HttpResponse::build(
            u16::try_from(status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::OK),
        );
        if let Some(ct) = row.content_type {
            res.insert_header((header::CONTENT_TYPE, ct));
        }
        if let Some(etag) = row.etag {
            res.insert_header((header::ETAG, etag));
        }
        res.insert_header((REPLAYED, "true"));
        return req.into_response(res.body(stored));
    }
    let held_for = row.locked_until.map(|until| until - now());
    if let Some(left) = held_for.filter(|d| *d > Duration::zero()) {
        let mut res = req.error_response(ApiError::Conflict("idempotency_in_progress"));
        let secs = u64::try_from(left.num_seconds() + 1).unwrap_or(1);
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return res;
    }
    if row.committed_at.is_none() {
        // Another retry took the key over a moment ago.
        let mut res = req.error_response(ApiError::Conflict("idempotency_in_progress"));
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
        return res;
    }
    // The write committed and its answer was lost with the process that made it.
    let location = row
        .subject_type
        .as_deref()
        .zip(row.subject_id)
        .and_then(|(kind, id)| subject_url(kind, id));
    match location {
        Some(url) => req.into_response(
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, url))
                .insert_header((REPLAYED, "true"))
                .finish(),
        ),
        None => req.error_response(ApiError::Conflict("idempotency_answer_lost")),
    }
}
