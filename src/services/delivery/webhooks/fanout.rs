//! Which webhooks an event goes to: every active webhook of the event's community that follows
//! its kind (any kind may be followed, not only those someone is told about). Called by the
//! relay for its hand-over, and by a replay.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::domain::webhook::follows;
use crate::services::ServiceResult;
use crate::state::AppState;
use crate::store;
use crate::store::delivery::outbox::OutboxEvent;
use crate::store::delivery::webhook_deliveries::NewDelivery;

/// The deliveries of `e`, due at `now`.
pub async fn plan(
    ctx: &AppState,
    e: &OutboxEvent,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<NewDelivery>> {
    let Some(community_id) = e.community_id else {
        return Ok(Vec::new());
    };
    let hooks = store::delivery::webhooks::following(&ctx.db, community_id).await?;
    let mut body = None;
    Ok(hooks
        .into_iter()
        .filter(|(_, kinds)| follows(kinds, &e.topic))
        .map(|(webhook_id, _)| {
            delivery(
                e,
                community_id,
                webhook_id,
                body.get_or_insert_with(|| body_of(e)),
                now,
            )
        })
        .collect())
}

pub fn delivery(
    e: &OutboxEvent,
    community_id: Uuid,
    webhook_id: Uuid,
    body: &str,
    now: DateTime<Utc>,
) -> NewDelivery {
    NewDelivery {
        id: Uuid::now_v7(),
        webhook_id,
        community_id,
        event_id: e.id,
        topic: e.topic.clone(),
        body: body.to_string(),
        created_at: now,
    }
}

/// The body every receiver of `e` gets: `{"type", "timestamp", "data"}` (Standard Webhooks),
/// `data` being the outbox payload.
pub fn body_of(e: &OutboxEvent) -> String {
    json!({"type": e.topic, "timestamp": e.created_at, "data": e.payload.0}).to_string()
}
