//! Response shapes shared by handlers: objects with ETags, pages with cursors; the `Location`
//! of created objects.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use serde::Serialize;
use serde_json::Value;

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

/// Marks an error answer in a protocol's own format (OAuth 2.0's JSON, Open311's error lists),
/// which the request middleware leaves as it is instead of making it a problem document.
#[derive(Debug, Clone, Copy)]
pub struct OwnErrorFormat;

/// Marks an answer that carries a secret shown once (`secret`, or an integration client's
/// `client_secret`): the copy kept for a retry with the same `Idempotency-Key` leaves it out.
#[derive(Debug, Clone, Copy)]
pub struct OneTimeSecret;

/// `answer` without its top-level `secret` and `client_secret`.
pub fn without_secret(answer: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Value>(answer) {
        Ok(Value::Object(mut m)) => {
            m.remove("secret");
            m.remove("client_secret");
            serde_json::to_vec(&m).unwrap_or_default()
        }
        _ => answer.to_vec(),
    }
}

pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// The URL of a created object: `template` with `{path}` replaced by the request's path and
/// `{a.b}` by the string at `a.b` in the answer. None when the answer lacks one.
pub fn location(template: &str, request_path: &str, answer: &[u8]) -> Option<String> {
    let answer: Value = serde_json::from_slice(answer).ok()?;
    let mut url = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        url.push_str(&rest[..open]);
        match &rest[open + 1..close] {
            "path" => url.push_str(request_path.trim_end_matches('/')),
            field => {
                let pointer = format!("/{}", field.replace('.', "/"));
                url.push_str(answer.pointer(&pointer)?.as_str()?);
            }
        }
        rest = &rest[close + 1..];
    }
    url.push_str(rest);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::location;

    #[test]
    fn locations_are_filled_from_the_answer_and_the_path() {
        let answer = br#"{"id": "a1", "visit": {"id": "v2"}, "n": 3}"#;
        let at = |t| location(t, "/api/v1/users/u9/roles/", answer);
        assert_eq!(
            at("/api/v1/users/{id}").as_deref(),
            Some("/api/v1/users/a1")
        );
        assert_eq!(
            at("{path}/{id}").as_deref(),
            Some("/api/v1/users/u9/roles/a1")
        );
        assert_eq!(
            at("/api/v1/visits/{visit.id}").as_deref(),
            Some("/api/v1/visits/v2")
        );
        assert_eq!(at("{path}").as_deref(), Some("/api/v1/users/u9/roles"));
        assert_eq!(at("/x/{missing}"), None);
        assert_eq!(at("/x/{n}"), None, "only strings");
        assert_eq!(at("/x/{id"), None);
        assert_eq!(location("/x/{id}", "/", b"not json"), None);
    }
}
