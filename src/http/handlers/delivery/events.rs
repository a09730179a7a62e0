//! `/me/events`: the caller's inbox as Server-Sent Events, live; and `/me/events/ticket`, for
//! browsers' `EventSource`, which cannot send `Authorization`.
//!
//! Each notification is one event: `id:` the stream's position (the notification's id; see
//! `services::delivery::stream` for one committed late), `event: notification`, `data:` the
//! inbox item as `/me/notifications` shows it, worded by `Accept-Language`. A comment every
//! `Config.stream_heartbeat`; when the access token that opened the stream expires, one
//! `event: token_expired` and the end. A stream costs only its registration and the state
//! below until its user is told something. A client that went away is noticed when a heartbeat
//! cannot be written (actix keeps serving half-closed connections), and its stream dropped.

use std::convert::Infallible;
use std::pin::Pin;
use std::time::Duration;

use actix_web::http::{Method, header};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::notifications::view;
use crate::domain::FieldError;
use crate::http::error::ApiError;
use crate::http::extract::bearer;
use crate::http::i18n::Lang;
use crate::services::accounts::sessions;
use crate::services::delivery::signal::Watch;
use crate::services::delivery::stream::{self, Position};
use crate::services::delivery::tickets;
use crate::state::AppState;

/// How long a client waits before reconnecting after the stream broke.
const RETRY: &[u8] = b"retry: 3000\n\n";
const HEARTBEAT: &[u8] = b": heartbeat\n\n";
const EXPIRED: &[u8] = b"event: token_expired\ndata: {}\n\n";

/// The caller of a bearer token and when the token expires.
async fn bearer_caller(ctx: &AppState, req: &HttpRequest) -> Result<(Uuid, i64), ApiError> {
    let token = bearer(req).ok_or(ApiError::Unauthorized("missing_token"))?;
    ctx.jwt.verify_until(token).ok_or_else(|| {
        // The stream is a person's: an integration client's token is refused as on any other
        // endpoint that names no scope.
        match ctx.jwt.verify_subject(token) {
            Some(crate::auth::jwt::Subject::Client { .. }) => {
                ApiError::Forbidden("client_not_allowed")
            }
            _ => ApiError::Unauthorized("invalid_token"),
        }
    })
}

async fn active(ctx: &AppState, user: Uuid) -> Result<(), ApiError> {
    sessions::principal(ctx, user)
        .await?
        .map(|_| ())
        .ok_or(ApiError::Unauthorized("user_disabled"))
}

fn expiry(exp: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(exp, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub async fn ticket(ctx: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (user, exp) = bearer_caller(&ctx, &req).await?;
    active(&ctx, user).await?;
    let t = tickets::issue(&ctx, user, expiry(exp)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({"ticket": t.ticket, "expires_at": t.expires_at})))
}

#[derive(Deserialize)]
pub struct StreamQuery {
    ticket: Option<String>,
    last_event_id: Option<String>,
    access_token: Option<String>,
    token: Option<String>,
}

/// `Last-Event-ID` (what `EventSource` sends when it reconnects), else `last_event_id`.
fn resume_after(req: &HttpRequest, q: &StreamQuery) -> Result<Option<Uuid>, ApiError> {
    if let Some(v) = req.headers().get("last-event-id") {
        let v = v
            .to_str()
            .map_err(|_| ApiError::bad_request("invalid_header"))?
            .trim();
        if !v.is_empty() {
            return v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request("invalid_header"));
        }
    }
    match q.last_event_id.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ApiError::Validation(vec![FieldError {
                field: "last_event_id".into(),
                code: "invalid_value",
            }])
        }),
    }
}

pub async fn stream(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<StreamQuery>,
) -> Result<HttpResponse, ApiError> {
    // A token in a URL ends up in logs; refused even beside a valid header, so that a client
    // doing it learns at once.
    if q.access_token.is_some() || q.token.is_some() {
        return Err(ApiError::bad_request("token_in_url"));
    }
    let after = resume_after(&req, &q)?;
    let (user, exp) = match q.ticket.as_deref() {
        Some(t) => {
            let (user, until) = tickets::redeem(&ctx, t).await?;
            (user, until.timestamp())
        }
        None => bearer_caller(&ctx, &req).await?,
    };
    active(&ctx, user).await?;
    let lang = Lang::from_headers(req.headers());
    let mut res = HttpResponse::Ok();
    res.content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Proxies (nginx) must pass each event on as it comes.
        .insert_header(("x-accel-buffering", "no"))
        .insert_header((header::CONTENT_LANGUAGE, lang.tag()))
        .insert_header((header::VARY, "Accept-Language"));
    if req.method() == Method::HEAD {
        return Ok(res.finish());
    }
    let left = (exp - Utc::now().timestamp()).max(0) as u64;
    let period = ctx.config.stream_heartbeat;
    let now = tokio::time::Instant::now();
    let live = Live {
        watch: ctx.inbox_signal.watch(user),
        ctx,
        user,
        lang,
        pos: Position::after(after),
        read: after.is_some(),
        retry_read: false,
        opened: false,
        ended: false,
        heartbeat: tokio::time::interval_at(now + period, period),
        expires: Box::pin(tokio::time::sleep_until(now + Duration::from_secs(left))),
    };
    Ok(res.streaming(futures_util::stream::unfold(live, step)))
}

struct Live {
    ctx: web::Data<AppState>,
    user: Uuid,
    lang: Lang,
    pos: Position,
    watch: Watch,
    /// Something may be waiting in the inbox.
    read: bool,
    /// The last read failed (the database is away): try again at the next heartbeat.
    retry_read: bool,
    opened: bool,
    ended: bool,
    heartbeat: tokio::time::Interval,
    expires: Pin<Box<tokio::time::Sleep>>,
}

type Chunk = Result<Bytes, Infallible>;

async fn step(mut s: Live) -> Option<(Chunk, Live)> {
    if s.ended || s.watch.closing() {
        return None;
    }
    if !s.opened {
        s.opened = true;
        return Some((Ok(Bytes::from_static(RETRY)), s));
    }
    loop {
        if s.read {
            let before = s.pos.last();
            // Boxed: the read's state is held only while it runs, not by every idle stream.
            match Box::pin(stream::next(&s.ctx, s.user, &mut s.pos)).await {
                Ok((items, more)) => {
                    s.read = more;
                    if !items.is_empty() {
                        let events = frame(items, before, s.lang);
                        return Some((Ok(events), s));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, user = %s.user, "a stream could not read the inbox");
                    s.read = false;
                    s.retry_read = true;
                }
            }
            continue;
        }
        tokio::select! {
            biased;
            _ = &mut s.expires => {
                s.ended = true;
                return Some((Ok(Bytes::from_static(EXPIRED)), s));
            }
            _ = s.watch.woken() => {
                if s.watch.closing() {
                    return None;
                }
                s.read = true;
            }
            _ = s.heartbeat.tick() => {
                s.read = std::mem::take(&mut s.retry_read);
                return Some((Ok(Bytes::from_static(HEARTBEAT)), s));
            }
        }
    }
}

/// The events of `items`, each with the stream's position after it as its `id:`.
fn frame(
    items: Vec<crate::services::delivery::inbox::Notification>,
    before: Option<Uuid>,
    lang: Lang,
) -> Bytes {
    let mut out = String::new();
    let mut id = before;
    for n in items {
        id = id.max(Some(n.id));
        let data = serde_json::to_string(&view(n, lang)).unwrap_or_else(|_| "{}".into());
        let id = id.map(|i| i.to_string()).unwrap_or_default();
        out.push_str(&format!("id: {id}\nevent: notification\ndata: {data}\n\n"));
    }
    Bytes::from(out)
}
