//! The HTTP error type: every failure becomes an RFC 7807 problem document with a stable
//! `code`. Server errors are logged with the request id and never described to clients.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::i18n::{Lang, text};
use crate::domain::FieldError;
use crate::domain::import_sheet::SheetIssue;
use crate::services::ServiceError;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{code}")]
    BadRequest {
        code: &'static str,
        detail: Option<String>,
    },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// A client's token lacks the scope named (RFC 6750 §3.1).
    #[error("insufficient scope: {0}")]
    InsufficientScope(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    /// `allow` is the path's methods, for the `Allow` header.
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("{0}")]
    Conflict(&'static str),
    #[error("precondition required")]
    PreconditionRequired,
    #[error("stale version")]
    PreconditionFailed,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 406: the representation asked for is not one we make (`?format=`).
    #[error("{0}")]
    NotAcceptable(&'static str),
    #[error("{0}")]
    Unprocessable(&'static str),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("unavailable")]
    Unavailable,
    /// The database is away: retry after `Retry-After`.
    #[error("database unavailable")]
    DatabaseUnavailable,
    /// 429 with its own code, retry after `Retry-After` seconds: a rate limit of ours
    /// (`rate_limited`: a client's, an address's; the `RateLimit-*` headers are added from the
    /// request's [`crate::rate_limit::Decision`] by the request middleware) or an outside
    /// service's.
    #[error("{code}")]
    RateLimited {
        code: &'static str,
        retry_after_secs: u64,
    },
    /// 503 with its own code (an outside service is away), retry after `Retry-After` seconds.
    #[error("{code}")]
    OutsideUnavailable {
        code: &'static str,
        retry_after_secs: u64,
    },
    /// Saturated (password hashing): retry after `Retry-After` seconds.
    #[error("busy")]
    Busy { retry_after_secs: u64 },
    /// A spreadsheet refused (an import): its own status and code, with the rows and columns
    /// at fault.
    #[error("{code}")]
    Sheet {
        status: StatusCode,
        code: &'static str,
        issues: Vec<SheetIssue>,
    },
    /// The message is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<ProblemField<'a>>,
}

#[derive(Serialize)]
struct ProblemField<'a> {
    /// A spreadsheet's row, as the spreadsheet shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<u32>,
    /// A spreadsheet's column, by its header.
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<&'a str>,
    field: &'a str,
    code: &'a str,
    message: &'static str,
}

impl ApiError {
    pub fn bad_request(code: &'static str) -> Self {
        ApiError::BadRequest { code, detail: None }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } => code,
            ApiError::Validation(_) => "validation_failed",
            ApiError::Unauthorized(c)
            | ApiError::Forbidden(c)
            | ApiError::NotFound(c)
            | ApiError::Conflict(c)
            | ApiError::NotAcceptable(c)
            | ApiError::Unprocessable(c) => c,
            ApiError::RateLimited { code, .. }
            | ApiError::OutsideUnavailable { code, .. }
            | ApiError::Sheet { code, .. } => code,
            ApiError::InsufficientScope(_) => "insufficient_scope",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::PreconditionRequired => "precondition_required",
            ApiError::PreconditionFailed => "stale_version",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "too_many_attempts",
            ApiError::Unavailable => "unavailable",
            ApiError::DatabaseUnavailable => "database_unavailable",
            ApiError::Busy { .. } => "server_busy",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The problem document in the caller's language.
    pub fn render(&self, lang: Lang, request_id: Option<&str>) -> HttpResponse {
        let code = self.code();
        let status = self.status_code();
        let title = text(code, lang);
        let message = match self {
            ApiError::BadRequest {
                detail: Some(d), ..
            } => format!("{title} {d}"),
            ApiError::Sheet { issues, .. } if !issues.is_empty() => {
                let e = &issues[0];
                let more = issues.len() - 1;
                match (lang, more) {
                    (Lang::Zh, 0) => format!("{title}（第 {} 行「{}」）", e.row, e.column),
                    (Lang::Zh, n) => {
                        format!("{title}（第 {} 行「{}」，另有 {n} 处）", e.row, e.column)
                    }
                    (_, 0) => format!("{title} (row {}, column {})", e.row, e.column),
                    (_, n) => format!("{title} (row {}, column {}, and {n} more)", e.row, e.column),
                }
            }
            _ => title.to_string(),
        };
        let errors = match self {
            ApiError::Validation(errs) => errs
                .iter()
                .map(|e| ProblemField {
                    row: None,
                    column: None,
                    field: &e.field,
                    code: e.code,
                    message: text(e.code, lang),
                })
                .collect(),
            ApiError::Sheet { issues, .. } => issues
                .iter()
                .take(crate::domain::import_sheet::MAX_LISTED_ISSUES)
                .map(|e| ProblemField {
                    row: Some(e.row),
                    column: Some(&e.column),
                    field: &e.field,
                    code: e.code,
                    message: text(e.code, lang),
                })
                .collect(),
            _ => Vec::new(),
        };
        let body = Problem {
            kind: format!("https://huying.dev/problems/{code}"),
            title,
            status: status.as_u16(),
            code,
            message,
            request_id,
            errors,
        };
        let mut res = HttpResponse::build(status);
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
            .insert_header((header::CONTENT_LANGUAGE, lang.tag()));
        match self {
            ApiError::TooManyRequests { retry_after_secs }
            | ApiError::Busy { retry_after_secs }
            | ApiError::RateLimited {
                retry_after_secs, ..
            }
            | ApiError::OutsideUnavailable {
                retry_after_secs, ..
            } => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after_secs)));
            }
            // A database restart takes seconds; a client should not hammer it meanwhile.
            ApiError::DatabaseUnavailable => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from(1u64)));
            }
            ApiError::InsufficientScope(scope) => {
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!(r#"Bearer error="insufficient_scope", scope="{scope}""#),
                ));
            }
            ApiError::MethodNotAllowed { allow } if !allow.is_empty() => {
                res.insert_header((header::ALLOW, allow.as_str()));
            }
            _ => {}
        }
        if status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.body(serde_json::to_vec(&body).unwrap_or_default())
    }

    /// A problem for an error response produced outside our code (by status alone).
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => ApiError::Unauthorized("missing_token"),
            403 => ApiError::Forbidden("forbidden"),
            404 => ApiError::NotFound("route_not_found"),
            405 => ApiError::MethodNotAllowed {
                allow: String::new(),
            },
            413 => ApiError::PayloadTooLarge,
            415 => ApiError::UnsupportedMediaType,
            400..=499 => ApiError::bad_request("bad_request"),
            503 => ApiError::Unavailable,
            _ => ApiError::Internal(format!("unhandled error response {status}")),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) | ApiError::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::InsufficientScope(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::TooManyRequests { .. } | ApiError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable
            | ApiError::Busy { .. }
            | ApiError::DatabaseUnavailable
            | ApiError::OutsideUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Sheet { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Rendered again with the caller's language and request id by the request middleware.
    fn error_response(&self) -> HttpResponse {
        self.render(Lang::Zh, None)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => ApiError::NotFound("not_found"),
            ServiceError::Forbidden(c) => ApiError::Forbidden(c),
            ServiceError::Validation(errs) => ApiError::Validation(errs),
            ServiceError::Conflict(c) => ApiError::Conflict(c),
            ServiceError::Unprocessable(c) => ApiError::Unprocessable(c),
            ServiceError::StaleVersion => ApiError::PreconditionFailed,
            ServiceError::Unauthorized(c) => ApiError::Unauthorized(c),
            ServiceError::TooManyAttempts { retry_after_secs } => {
                ApiError::TooManyRequests { retry_after_secs }
            }
            ServiceError::Busy { retry_after_secs } => ApiError::Busy { retry_after_secs },
            ServiceError::Unavailable => ApiError::DatabaseUnavailable,
            ServiceError::RateLimited {
                code,
                retry_after_secs,
            } => ApiError::RateLimited {
                code,
                retry_after_secs,
            },
            ServiceError::OutsideUnavailable {
                code,
                retry_after_secs,
            } => ApiError::OutsideUnavailable {
                code,
                retry_after_secs,
            },
            ServiceError::Internal(m) => ApiError::Internal(m),
        }
    }
}
