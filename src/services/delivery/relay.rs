//! The relay: leases pending outbox events and hands each to the channels, in one transaction
//! per event (the inbox rows, the channels' queues, the event's mark). It runs in every
//! instance; leases keep two from handing over one event, and an event whose holder died is
//! taken again when the lease runs out. Delivered events are pruned by `retention`.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::services::ServiceResult;
use crate::services::delivery::{audience, webhooks, wechat};
use crate::state::AppState;
use crate::store;
use crate::store::delivery::notifications::NewNotification;
use crate::store::delivery::outbox::{Handover, OutboxEvent};

/// An event leased and not handed over in this long is taken again by another relay.
const LEASE_SECONDS: i64 = 30;
const BATCH: i64 = 100;

/// Hands over every event pending at `now`; how many were handed over.
pub async fn relay(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<usize> {
    let mut done = 0;
    loop {
        let lease_until = now + Duration::seconds(LEASE_SECONDS);
        let events = store::delivery::outbox::lease(&ctx.db, now, lease_until, BATCH).await?;
        let n = events.len();
        for e in events {
            match hand_over(ctx, &e, now).await {
                Ok(true) => done += 1,
                Ok(false) => {}
                // Left leased: taken again when the lease runs out.
                Err(err) => {
                    tracing::warn!(event = %e.id, topic = %e.topic, error = %err, "relay failed")
                }
            }
        }
        if (n as i64) < BATCH {
            return Ok(done);
        }
    }
}

async fn hand_over(ctx: &AppState, e: &OutboxEvent, now: DateTime<Utc>) -> ServiceResult<bool> {
    let told = audience::of(ctx, e).await?;
    let object_id = e.aggregate_id;
    let notifications = told
        .users
        .iter()
        .map(|&user_id| NewNotification {
            id: Uuid::now_v7(),
            user_id,
            community_id: e.community_id,
            event_id: e.id,
            kind: e.topic.clone(),
            object_type: e.aggregate_type.clone(),
            object_id,
            params: told.params.clone(),
            created_at: now,
        })
        .collect();
    let webhook_deliveries = webhooks::fanout::plan(ctx, e, now).await?;
    let wechat_messages = wechat::plan::plan(ctx, e, &told, now).await?;
    let h = Handover {
        notifications,
        webhook_deliveries,
        wechat_messages,
    };
    let handed = store::delivery::outbox::hand_over(&ctx.db, e, &h, now).await?;
    if handed {
        ctx.inbox_signal.told(&told.users);
        if !h.webhook_deliveries.is_empty() {
            ctx.webhooks.wake();
        }
    }
    Ok(handed)
}

/// Runs the relay every `interval` until `stop` says so; a pass under way is finished first.
pub fn spawn(
    ctx: AppState,
    interval: StdDuration,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    crate::services::periodic::spawn(ctx, interval, stop, "relay", |c| {
        Box::pin(relay(c, store::now()))
    })
}
