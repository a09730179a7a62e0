//! Services: the rules. No HTTP in here; handlers call these with a `Principal`.
//!
//! One folder per capability, depending on each other one way only:
//! `accounts` ← `registry` ← `requests` ← `visits`; `integrations` (WeChat apps and identities,
//! integration clients and their OAuth token endpoint)
//! on `accounts` and `registry`; `records` (volunteer records and certificates) on `requests`,
//! `registry` and `accounts`; `delivery` on all of them; `imports` (residents from spreadsheets) on `registry`. Beside them: `audit` (reading the audit
//! log every capability writes), `sweeper` (the background work of requests and visits), `retention`
//! (pruning what is kept only for a while) and
//! `patch` (JSON merge-patch for updates). Shared here: the error type, pages, search patterns.

pub mod accounts;
pub mod activities;
pub mod audit;
pub mod deliberation;
pub mod delivery;
pub mod imports;
pub mod integrations;
pub mod mediation;
pub mod mobilisation;
pub mod notices;
pub mod open311;
pub mod patch;
pub mod periodic;
pub mod records;
pub mod registry;
pub mod requests;
pub mod retention;
pub mod sweeper;
pub mod visits;

use uuid::Uuid;

use crate::auth::HashingError;
use crate::domain::FieldError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("not found")]
    NotFound,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Well-formed but refused as a whole, with its own problem code (422).
    #[error("unprocessable: {0}")]
    Unprocessable(&'static str),
    #[error("stale version")]
    StaleVersion,
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    /// A shared resource (password hashing) is saturated; nothing was done.
    #[error("busy")]
    Busy { retry_after_secs: u64 },
    /// The database is away; nothing was done.
    #[error("database unavailable")]
    Unavailable,
    /// An outside service (WeChat) limits our calls: retry after this long (429 with `code`).
    #[error("rate limited: {code}")]
    RateLimited {
        code: &'static str,
        retry_after_secs: u64,
    },
    /// An outside service (WeChat) cannot be reached or failed; nothing was done (503 with `code`).
    #[error("outside service unavailable: {code}")]
    OutsideUnavailable {
        code: &'static str,
        retry_after_secs: u64,
    },
    #[error("internal: {0}")]
    Internal(String),
}

impl ServiceError {
    /// A refusal of the caller (the object is not theirs, not there): an authorisation check may
    /// answer it as 404. The others (the database away, a fault) must reach the caller as they are.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ServiceError::NotFound | ServiceError::Forbidden(_) | ServiceError::Unauthorized(_)
        )
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Conflict => ServiceError::Conflict("duplicate"),
            StoreError::ForeignKey => ServiceError::Validation(vec![FieldError {
                field: String::new(),
                code: "unknown_reference",
            }]),
            StoreError::StaleVersion => ServiceError::StaleVersion,
            StoreError::Guard(code) => ServiceError::Conflict(code),
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                ServiceError::Unavailable
            }
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<HashingError> for ServiceError {
    fn from(e: HashingError) -> Self {
        match e {
            HashingError::Busy { retry_after_secs } => ServiceError::Busy { retry_after_secs },
            HashingError::Failed => ServiceError::Internal(e.to_string()),
        }
    }
}

impl From<Vec<FieldError>> for ServiceError {
    fn from(errors: Vec<FieldError>) -> Self {
        ServiceError::Validation(errors)
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Keyset pagination over UUIDv7 ids (which sort by creation time).
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: i64,
}

#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The id to continue after, when there is more.
    pub next_after: Option<Uuid>,
}

impl PageRequest {
    /// Rows are fetched with `fetch_limit` (one more than asked) to know whether more exist.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    pub fn page<R, T>(
        &self,
        mut rows: Vec<R>,
        id: impl Fn(&R) -> Uuid,
        view: impl FnMut(R) -> T,
    ) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_after = if more { rows.last().map(&id) } else { None };
        Page {
            items: rows.into_iter().map(view).collect(),
            next_after,
        }
    }
}

/// `%term%` for LIKE, lowercased, with the wildcards of the term escaped.
pub fn like_pattern(term: Option<&str>) -> Option<String> {
    let t = term?.trim();
    if t.is_empty() {
        return None;
    }
    let mut out = String::from("%");
    for c in t.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    Some(out)
}

/// Times clients send must lie in this century: far outside it they are typos, and PostgreSQL
/// refuses some of them (before 4713 BC) where SQLite would store them.
pub fn sane_time(t: chrono::DateTime<chrono::Utc>) -> bool {
    use chrono::Datelike;
    (2000..2100).contains(&t.year())
}

/// The community a list is of: the one named, else the caller's only community; 404 for a
/// community the caller is not a member of.
pub fn community_of_list(p: &crate::auth::Principal, named: Option<Uuid>) -> ServiceResult<Uuid> {
    let c = match named {
        Some(c) => c,
        None => {
            let mut cs: Vec<Uuid> = p.communities().collect();
            cs.dedup();
            match cs.as_slice() {
                [one] => *one,
                _ => return Err(field_error("community_id", "required")),
            }
        }
    };
    if !p.is_member(c) {
        return Err(ServiceError::NotFound);
    }
    Ok(c)
}

/// One field error as a validation failure.
pub fn field_error(field: &str, code: &'static str) -> ServiceError {
    ServiceError::Validation(vec![FieldError {
        field: field.to_string(),
        code,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(Some(" 孙 ")), Some("%孙%".into()));
        assert_eq!(like_pattern(Some("a_b%")), Some("%a\\_b\\%%".into()));
        assert_eq!(like_pattern(Some("  ")), None);
        assert_eq!(like_pattern(None), None);
    }

    #[test]
    fn pages_report_where_to_continue() {
        let req = PageRequest {
            after: None,
            limit: 2,
        };
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let p = req.page(ids.clone(), |u| *u, |u| u);
        assert_eq!(p.items.len(), 2);
        assert_eq!(p.next_after, Some(ids[1]));
        let last = req.page(ids[..2].to_vec(), |u| *u, |u| u);
        assert_eq!(last.next_after, None);
    }
}
