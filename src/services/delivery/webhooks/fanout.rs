//! Which webhooks an event goes to: every active webhook of the event's community that follows
//! its kind (any kind may be followed, not only those someone is told about). Called by the
//! relay for its hand-over, and by a replay.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::webhook::follows;
use crate::services::ServiceResult;
use crate::state::AppState;
use crate::store;
use crate::store::delivery::outbox::OutboxEvent;
use crate::store::delivery::webhook_deliveries::NewDelivery;

/// The active webhooks of a community with the kinds each follows.
pub type Following = Vec<(Uuid, Json<Vec<String>>)>;

/// The active webhooks of `community_id` (read once a batch by the relay).
pub async fn following(ctx: &AppState, community_id: Uuid) -> ServiceResult<Following> {
    Ok(store::delivery::webhooks::following(&ctx.db, community_id).await?)
}

/// The deliveries of `e`, due at `now`, to those of `hooks` (its community's) that follow it.
pub fn plan(e: &OutboxEvent, hooks: &Following, now: DateTime<Utc>) -> Vec<NewDelivery> {
    let Some(community_id) = e.community_id else {
        return Vec::new();
    };
    let mut body = None;
    hooks
        .iter()
        .filter(|(_, kinds)| follows(kinds, &e.topic))
        .map(|(webhook_id, _)| {
            delivery(
                e,
                community_id,
                *webhook_id,
                body.get_or_insert_with(|| body_of(e)),
                now,
            )
        })
        .collect()
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
