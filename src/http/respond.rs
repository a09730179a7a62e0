//! Response shapes shared by handlers: objects with ETags, pages with cursors.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use serde::Serialize;

use super::extract::encode_cursor;
use crate::services::Page;

/// An object with its version as a strong ETag (`"3"`), for `If-Match` on the next update.
pub fn versioned<T: Serialize>(status: StatusCode, body: &T, version: i64) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, format!("\"{version}\"")))
        .json(body)
}

#[derive(Serialize)]
struct PageBody<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

pub fn page<T: Serialize>(p: Page<T>) -> HttpResponse {
    HttpResponse::Ok().json(PageBody {
        items: p.items,
        next_cursor: p.next_after.map(encode_cursor),
    })
}

#[derive(Serialize)]
struct Items<T> {
    items: Vec<T>,
}

/// `{"items": [...]}` for short lists that need no pages.
pub fn items<T: Serialize>(items: Vec<T>) -> HttpResponse {
    HttpResponse::Ok().json(Items { items })
}

pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
