//! What was sent to a webhook and how it went, and sending again: one delivery (`retry`), or
//! every event of the community since a time that the webhook follows (`replay`, as far back as
//! the outbox keeps events). Either starts a new round of the retry schedule and keeps the
//! delivery's id, so the receiver sees the same `webhook-id` as before.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::endpoints::load;
use super::fanout::{body_of, delivery};
use crate::auth::Principal;
use crate::domain::webhook::follows;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, field_error, sane_time};
use crate::state::AppState;
use crate::store;
use crate::store::delivery::webhook_deliveries::{AttemptRow, DeliveryRow};

/// The attempts shown with a delivery: the latest.
const SHOWN_ATTEMPTS: usize = 10;
const REPLAY_BATCH: i64 = 500;

#[derive(Debug, Serialize)]
pub struct AttemptView {
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DeliveryView {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub topic: String,
    pub status: String,
    pub attempt_count: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The latest attempts, oldest first.
    pub attempts: Vec<AttemptView>,
}

fn view(r: DeliveryRow, attempts: &mut Vec<AttemptRow>) -> DeliveryView {
    let mut mine: Vec<AttemptView> = Vec::new();
    attempts.retain(|a| {
        if a.delivery_id != r.id {
            return true;
        }
        mine.push(AttemptView {
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error.clone(),
        });
        false
    });
    let skip = mine.len().saturating_sub(SHOWN_ATTEMPTS);
    DeliveryView {
        id: r.id,
        webhook_id: r.webhook_id,
        event_id: r.event_id,
        topic: r.topic,
        status: r.status,
        attempt_count: r.attempt_count,
        next_attempt_at: r.next_attempt_at,
        last_attempt_at: r.last_attempt_at,
        last_status_code: r.last_status_code,
        last_error: r.last_error,
        created_at: r.created_at,
        updated_at: r.updated_at,
        attempts: mine.into_iter().skip(skip).collect(),
    }
}

const STATUSES: &[&str] = &["pending", "succeeded", "dead"];

/// The webhook's deliveries, newest first, optionally of one status.
pub async fn list(
    ctx: &AppState,
    p: &Principal,
    webhook_id: Uuid,
    status: Option<&str>,
    page: PageRequest,
) -> ServiceResult<Page<DeliveryView>> {
    if status.is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(field_error("status", "unknown_value"));
    }
    load(ctx, p, webhook_id).await?;
    let db = &ctx.db;
    let rows = store::delivery::webhook_deliveries::page(
        db,
        webhook_id,
        page.after,
        status,
        page.fetch_limit(),
    )
    .await?;
    let shown = &rows[..rows.len().min(page.limit as usize)];
    let mut attempts = match (shown.last(), shown.first()) {
        (Some(lo), Some(hi)) => {
            store::delivery::webhook_deliveries::attempts(db, webhook_id, lo.id, hi.id).await?
        }
        _ => Vec::new(),
    };
    Ok(page.page(rows, |r| r.id, |r| view(r, &mut attempts)))
}

/// Sends one delivery again now, in a new round of attempts.
pub async fn retry(
    ctx: &AppState,
    p: &Principal,
    webhook_id: Uuid,
    delivery_id: Uuid,
) -> ServiceResult<DeliveryView> {
    let w = load(ctx, p, webhook_id).await?;
    let db = &ctx.db;
    // Its existence first: a delivery of another webhook is not found, whatever the state.
    store::delivery::webhook_deliveries::get(db, webhook_id, delivery_id).await?;
    if !w.active {
        return Err(ServiceError::Conflict("webhook_inactive"));
    }
    store::delivery::webhook_deliveries::retry(db, webhook_id, delivery_id, store::now()).await?;
    ctx.webhooks.wake();
    let row = store::delivery::webhook_deliveries::get(db, webhook_id, delivery_id).await?;
    let mut attempts =
        store::delivery::webhook_deliveries::attempts(db, webhook_id, delivery_id, delivery_id)
            .await?;
    Ok(view(row, &mut attempts))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayInput {
    pub since: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct Replayed {
    /// Events queued (again) for the webhook.
    pub enqueued: u64,
}

/// Queues every event of the community from `since` on that the webhook follows.
pub async fn replay(
    ctx: &AppState,
    p: &Principal,
    webhook_id: Uuid,
    input: ReplayInput,
) -> ServiceResult<Replayed> {
    if !sane_time(input.since) {
        return Err(field_error("since", "out_of_range"));
    }
    let w = load(ctx, p, webhook_id).await?;
    if !w.active {
        return Err(ServiceError::Conflict("webhook_inactive"));
    }
    let db = &ctx.db;
    let now = store::now();
    let mut after = None;
    let mut enqueued = 0;
    loop {
        let events = store::delivery::webhook_deliveries::events_since(
            db,
            w.community_id,
            input.since,
            after,
            REPLAY_BATCH,
        )
        .await?;
        let Some(last) = events.last() else { break };
        after = Some((last.created_at, last.id));
        let batch: Vec<_> = events
            .iter()
            .filter(|e| follows(&w.event_kinds, &e.topic))
            .map(|e| delivery(e, w.community_id, w.id, &body_of(e), now))
            .collect();
        enqueued += batch.len() as u64;
        store::delivery::webhook_deliveries::enqueue_again(db, &batch).await?;
        if (events.len() as i64) < REPLAY_BATCH {
            break;
        }
    }
    if enqueued > 0 {
        ctx.webhooks.wake();
    }
    Ok(Replayed { enqueued })
}
