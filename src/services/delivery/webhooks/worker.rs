//! The delivery worker: leases due deliveries, signs and sends each in its own task (as many at
//! once as the instance has slots), and records every attempt with what follows from it: done,
//! retried on the schedule of `domain::webhook`, or dead — which turns the webhook off and alerts
//! the community's staff (`webhook.disabled`). A 410 Gone is dead at once.
//!
//! It runs in every instance; leases keep two from sending one delivery at the same time, and a
//! delivery whose holder died is sent again when the lease runs out (at least once: the
//! receiver sees the same `webhook-id`). It never waits for a send to lease more work, and an
//! endpoint that holds its share is leased nothing more until it sends, so a slow endpoint
//! holds only its own slots.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::sender::Slot;
use super::signature::{key_of, sign};
use crate::domain::webhook::{Outcome, outcome, retry_delay};
use crate::services::ServiceResult;
use crate::state::AppState;
use crate::store;
use crate::store::delivery::webhook_deliveries::{
    AttemptRecord, DisabledAlert, Endpoint, LeasedDelivery, Next,
};

/// How long a lease lasts beyond twice the request's timeout (a delivery may wait one turn of
/// its endpoint, then send): time to write the record.
const LEASE_MARGIN_SECONDS: i64 = 30;

/// What one lease brought.
struct Leased {
    /// Deliveries leased.
    got: usize,
    /// How many were asked for.
    asked: usize,
    /// Some endpoints were left out, holding their share: more may be due once they send.
    left_out: bool,
}

/// Leases what is due at `now`, as much as there is room for, and starts sending it in `tasks`
/// (each task's result: whether its record was written).
async fn start_due(
    ctx: &AppState,
    now: DateTime<Utc>,
    tasks: &mut JoinSet<bool>,
) -> ServiceResult<Leased> {
    let asked = ctx.webhooks.room();
    let except = ctx.webhooks.full_endpoints();
    let left_out = !except.is_empty();
    if asked == 0 {
        return Ok(Leased {
            got: 0,
            asked,
            left_out,
        });
    }
    let timeout = Duration::from_std(ctx.webhooks.timeout()).unwrap_or(Duration::seconds(10));
    let lease_id = Uuid::now_v7();
    let until = now + timeout * 2 + Duration::seconds(LEASE_MARGIN_SECONDS);
    let leased = store::delivery::webhook_deliveries::lease(
        &ctx.db,
        now,
        until,
        lease_id,
        asked as i64,
        &except,
    )
    .await?;
    let got = leased.len();
    let mut endpoints: HashMap<Uuid, Option<Endpoint>> = HashMap::new();
    for d in leased {
        let endpoint = match endpoints.get(&d.webhook_id) {
            Some(e) => e.clone(),
            None => {
                let e =
                    store::delivery::webhook_deliveries::endpoint(&ctx.db, d.webhook_id).await?;
                endpoints.insert(d.webhook_id, e.clone());
                e
            }
        };
        match endpoint {
            // Deleted meanwhile: its deliveries went with it.
            None => {}
            // Turned off meanwhile: parked until it is turned on.
            Some(e) if !e.active => {
                store::delivery::webhook_deliveries::put_back(&ctx.db, d.id, lease_id, None).await?
            }
            Some(e) => match ctx.webhooks.take(d.webhook_id) {
                Some(slot) => {
                    tasks.spawn(send(ctx.clone(), d, e, lease_id, now, slot));
                }
                // Another lease of this instance took the room: due again at once.
                None => {
                    store::delivery::webhook_deliveries::put_back(
                        &ctx.db,
                        d.id,
                        lease_id,
                        Some(now),
                    )
                    .await?
                }
            },
        }
    }
    Ok(Leased {
        got,
        asked,
        left_out,
    })
}

/// Sends one delivery and records the attempt; whether the record was written.
async fn send(
    ctx: AppState,
    d: LeasedDelivery,
    e: Endpoint,
    lease_id: Uuid,
    now: DateTime<Utc>,
    slot: Slot,
) -> bool {
    let _turn = slot.turn().await;
    let key = ctx.vault.decrypt(&e.secret).ok().and_then(|s| key_of(&s));
    let sent = match key {
        Some(key) => {
            let id = d.id.to_string();
            // The real clock: receivers compare it with theirs to refuse old messages.
            let timestamp = Utc::now().timestamp();
            let signature = sign(&key, &id, timestamp, &d.body);
            ctx.webhooks
                .post(&e.url, &id, timestamp, &signature, d.body.clone())
                .await
        }
        None => super::sender::Sent {
            status: None,
            latency: StdDuration::ZERO,
            error: Some("the signing secret cannot be read with this data key".into()),
        },
    };
    let failed = d.step + 1;
    let dead = |reason: &'static str| Next::Dead {
        reason,
        alert: alert(&d, &e, reason, &sent, now),
    };
    let next = match outcome(sent.status) {
        Outcome::Delivered => Next::Succeeded,
        Outcome::Gone => dead("gone"),
        Outcome::Failed => match retry_delay(failed) {
            Some(delay) => Next::Retry {
                step: failed,
                at: now + delay,
            },
            None => dead("failing"),
        },
    };
    let record = AttemptRecord {
        id: Uuid::now_v7(),
        delivery_id: d.id,
        webhook_id: d.webhook_id,
        lease_id,
        at: now,
        status_code: sent.status.map(i64::from),
        latency_ms: i64::try_from(sent.latency.as_millis()).unwrap_or(i64::MAX),
        error: sent.error.clone(),
        next,
    };
    match store::delivery::webhook_deliveries::record(&ctx.db, &record).await {
        Ok(written) => written,
        // Left leased: sent again when the lease runs out.
        Err(err) => {
            tracing::warn!(delivery = %d.id, error = %err, "could not record a webhook attempt");
            false
        }
    }
}

/// The event that tells the community's staff their webhook was turned off.
fn alert(
    d: &LeasedDelivery,
    e: &Endpoint,
    reason: &str,
    sent: &super::sender::Sent,
    now: DateTime<Utc>,
) -> DisabledAlert {
    let id = Uuid::now_v7();
    DisabledAlert {
        id,
        community_id: d.community_id,
        payload: json!({
            "event_id": id, "webhook_id": d.webhook_id, "community_id": d.community_id,
            "kind": "disabled", "actor_id": null, "at": now,
            "data": {"reason": reason, "url": e.url, "delivery_id": d.id,
                     "status_code": sent.status, "error": sent.error},
        }),
    }
}

/// Sends everything due at `now` and waits for it; how many attempts were recorded. Tests pass
/// a later `now` to make time pass; the background worker uses `spawn`.
pub async fn deliver(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<usize> {
    let mut recorded = 0;
    loop {
        let mut tasks = JoinSet::new();
        let mut leased_any = false;
        loop {
            let l = start_due(ctx, now, &mut tasks).await?;
            leased_any |= l.got > 0;
            if l.got == 0 || l.got < l.asked || ctx.webhooks.room() == 0 {
                break;
            }
        }
        while let Some(done) = tasks.join_next().await {
            recorded += usize::from(done.unwrap_or(false));
        }
        if !leased_any {
            return Ok(recorded);
        }
    }
}

/// Runs the worker until `stop` says so: it leases more whenever slots are free and work is
/// due, looks again every `interval` (or when woken), and on stop waits for the sends under way.
pub fn spawn(
    ctx: AppState,
    interval: StdDuration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tasks = JoinSet::new();
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            while tasks.try_join_next().is_some() {}
            let (more, left_out) = match start_due(&ctx, store::now(), &mut tasks).await {
                // As much as there was room for: there may be more due.
                Ok(l) => (l.got > 0 && l.got == l.asked, l.left_out),
                Err(e) => {
                    tracing::warn!(error = %e, "webhook worker failed");
                    (false, false)
                }
            };
            if *stop.borrow() {
                break;
            }
            if more && ctx.webhooks.room() > 0 {
                continue;
            }
            tokio::select! {
                _ = stop.changed() => break,
                _ = ctx.webhooks.slot_freed(), if more || left_out => {}
                _ = ctx.webhooks.woken() => {}
                _ = tick.tick() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
    })
}
