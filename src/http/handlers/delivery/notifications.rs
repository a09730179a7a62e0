//! `/me/notifications`: the caller's inbox, worded in their language.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::domain::notice_text::words;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, page_request};
use crate::http::i18n::Lang;
use crate::http::respond;
use crate::services::Page;
use crate::services::delivery::inbox::{self, Notification};
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct ObjectLink {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Uuid,
    pub href: String,
}

#[derive(Debug, Serialize)]
pub struct NotificationView {
    pub id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub community_id: Option<Uuid>,
    pub object: ObjectLink,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

fn href(kind: &str, id: Uuid) -> String {
    match kind {
        "visit" => format!("/api/v1/visits/{id}"),
        "webhook" => format!("/api/v1/webhooks/{id}"),
        "mobilisation" => format!("/api/v1/mobilisations/{id}"),
        "activity" => format!("/api/v1/activities/{id}"),
        "notice" => format!("/api/v1/notices/{id}"),
        _ => format!("/api/v1/help-requests/{id}"),
    }
}

/// Worded for `lang`; also what the live stream sends.
pub fn view(n: Notification, lang: Lang) -> NotificationView {
    let (title, body) = words(&n.kind, &n.params, lang);
    NotificationView {
        id: n.id,
        title,
        body,
        community_id: n.community_id,
        object: ObjectLink {
            href: href(&n.object_type, n.object_id),
            kind: n.object_type,
            id: n.object_id,
        },
        kind: n.kind,
        created_at: n.created_at,
        read_at: n.read_at,
    }
}

fn language(lang: Lang) -> [(header::HeaderName, &'static str); 2] {
    // The tags problem documents carry, and the spec lists.
    [
        (header::CONTENT_LANGUAGE, lang.tag()),
        (header::VARY, "Accept-Language"),
    ]
}

#[derive(Deserialize)]
pub struct InboxQuery {
    #[serde(default)]
    pub unread: bool,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub async fn list(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    req: HttpRequest,
    q: web::Query<InboxQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let lang = Lang::from_headers(req.headers());
    let found = inbox::list(&ctx, &p, q.unread, page).await?;
    let worded = Page {
        items: found.items.into_iter().map(|n| view(n, lang)).collect(),
        next_after: found.next_after,
    };
    let mut res = respond::page(worded);
    for (k, v) in language(lang) {
        res.headers_mut()
            .insert(k, header::HeaderValue::from_static(v));
    }
    Ok(res)
}

pub async fn unread_count(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
) -> Result<HttpResponse, ApiError> {
    let n = inbox::unread(&ctx, &p).await?;
    Ok(HttpResponse::Ok().json(json!({ "unread": n })))
}

pub async fn read(
    ctx: web::Data<AppState>,
    Auth(p): Auth,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let lang = Lang::from_headers(req.headers());
    let n = inbox::mark_read(&ctx, &p, *id).await?;
    let mut res = HttpResponse::Ok();
    for h in language(lang) {
        res.insert_header(h);
    }
    Ok(res.json(view(n, lang)))
}

pub async fn read_all(ctx: web::Data<AppState>, Auth(p): Auth) -> Result<HttpResponse, ApiError> {
    let n = inbox::mark_all_read(&ctx, &p).await?;
    Ok(HttpResponse::Ok().json(json!({ "marked": n })))
}
