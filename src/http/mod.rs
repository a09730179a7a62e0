//! The HTTP layer: routes, extractors, middleware and the problem-document error type.

pub mod admission;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod i18n;
pub mod idempotency;
pub mod metrics;
pub mod middleware;
pub mod respond;
pub mod routes;
pub mod tabular;
