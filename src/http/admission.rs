//! Admission: at most `request_concurrency` API requests are worked on at once; the others wait
//! their turn in arrival order, holding no database connection, for up to `request_queue_wait`,
//! then get 503 `server_busy` with `Retry-After`.
//!
//! Why: a request takes a connection several times (its caller, the object, the write). When a
//! rush (a call-out's two thousand sign-ups) far outnumbers the pool, every request would queue
//! for each of them behind all the others and most would run out of `db_acquire_timeout`
//! halfway, their work wasted, so that under a rush almost nothing got through. Admitted
//! requests only ever queue behind a few others for a connection.

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use tokio::sync::Semaphore;

use super::error::ApiError;

pub struct Admission {
    turns: Arc<Semaphore>,
    wait: Duration,
}

impl Admission {
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        Self {
            turns: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
        }
    }
}

/// Requests that wait on something else than the database, or must answer whatever the load:
/// the live stream (open for hours), health, metrics and the static documents.
fn exempt(path: &str) -> bool {
    let api =
        path.starts_with("/api/") || path.starts_with("/oauth/") || path.starts_with("/open311/");
    !api || path == "/api/v1/me/events"
}

pub async fn admit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let gate = req.app_data::<web::Data<Admission>>().cloned();
    let Some(gate) = gate.filter(|_| !exempt(req.path())) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let turn = tokio::time::timeout(gate.wait, gate.turns.clone().acquire_owned()).await;
    let Ok(Ok(_turn)) = turn else {
        let busy = ApiError::Busy {
            retry_after_secs: gate.wait.as_secs().clamp(1, 10),
        };
        return Ok(req.error_response(busy));
    };
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::exempt;

    #[test]
    fn the_api_is_admitted_and_the_stream_and_health_are_not() {
        for p in ["/api/v1/me", "/oauth/token", "/open311/v2/requests.json"] {
            assert!(!exempt(p), "{p}");
        }
        for p in [
            "/api/v1/me/events",
            "/healthz",
            "/readyz",
            "/metrics",
            "/docs",
        ] {
            assert!(exempt(p), "{p}");
        }
    }
}
