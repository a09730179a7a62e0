//! The relay: leases pending outbox events and hands each to the channels, in one transaction
//! per event (the inbox rows, the channels' queues, the event's mark). It runs in every
//! instance; leases keep two from handing over one event, and an event whose holder died is
//! taken again when the lease runs out. Delivered events are pruned by `retention`.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
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

/// How many events are planned at once (each plan reads the audience, the webhooks and the
/// WeChat policy).
const PLANNING: usize = 8;

/// Hands over every event pending at `now` (or leased by a relay that died before); how many
/// were handed over. Each is marked delivered at the time its hand-over begins.
pub async fn relay(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<usize> {
    let mut done = 0;
    let start = now;
    loop {
        // A pass under full load lasts: each batch keeps the real time (tests pass a later one).
        let now = start.max(store::now());
        let lease_until = now + Duration::seconds(LEASE_SECONDS);
        let events = store::delivery::outbox::lease(&ctx.db, now, lease_until, BATCH).await?;
        let n = events.len();
        let mut planned: Vec<Planned> = futures_util::stream::iter(events)
            .map(|e| async move {
                let p = plan(ctx, &e, now).await;
                (e, p)
            })
            .buffered(PLANNING)
            .filter_map(|(e, p)| async move {
                match p {
                    Ok(p) => Some(p),
                    // Left leased: taken again when the lease runs out.
                    Err(err) => {
                        tracing::warn!(event = %e.id, topic = %e.topic, error = %err, "relay failed");
                        None
                    }
                }
            })
            .collect()
            .await;
        // The inbox lists newest first by id: ids in the events' order, not in the order their
        // plans happened to finish.
        for n in planned
            .iter_mut()
            .flat_map(|p| &mut p.handover.notifications)
        {
            n.id = Uuid::now_v7();
        }
        done += hand_over(ctx, &planned, now.max(store::now())).await;
        if (n as i64) < BATCH {
            return Ok(done);
        }
    }
}

/// An event and what it becomes on every channel.
struct Planned {
    event: OutboxEvent,
    told: Vec<Uuid>,
    handover: Handover,
}

async fn plan(ctx: &AppState, e: &OutboxEvent, now: DateTime<Utc>) -> ServiceResult<Planned> {
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
    Ok(Planned {
        event: e.clone(),
        told: told.users.clone(),
        handover: Handover {
            notifications,
            webhook_deliveries,
            wechat_messages,
        },
    })
}

/// Hands `planned` over in one transaction; if that fails, one event at a time, so that one
/// event that cannot be written holds back only itself. How many were handed over.
async fn hand_over(ctx: &AppState, planned: &[Planned], now: DateTime<Utc>) -> usize {
    if planned.is_empty() {
        return 0;
    }
    let all: Vec<_> = planned.iter().map(|p| (&p.event, &p.handover)).collect();
    let handed = match store::delivery::outbox::hand_over(&ctx.db, &all, now).await {
        Ok(handed) => handed,
        Err(err) if planned.len() > 1 => {
            tracing::warn!(events = planned.len(), error = %err, "relay batch failed; one at a time");
            let mut handed = Vec::with_capacity(planned.len());
            for one in &all {
                handed.push(
                    match store::delivery::outbox::hand_over(&ctx.db, std::slice::from_ref(one), now)
                        .await
                    {
                        Ok(h) => h[0],
                        Err(err) => {
                            tracing::warn!(event = %one.0.id, topic = %one.0.topic, error = %err, "relay failed");
                            false
                        }
                    },
                );
            }
            handed
        }
        Err(err) => {
            let e = &planned[0].event;
            tracing::warn!(event = %e.id, topic = %e.topic, error = %err, "relay failed");
            vec![false]
        }
    };
    let mut wake = false;
    for (p, &h) in planned.iter().zip(&handed) {
        if h {
            ctx.inbox_signal.told(&p.told);
            wake |= !p.handover.webhook_deliveries.is_empty();
        }
    }
    if wake {
        ctx.webhooks.wake();
    }
    handed.iter().filter(|&&h| h).count()
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
