//! The relay: leases pending outbox events and hands each to the channels, in one transaction
//! per event (the inbox rows, the channels' queues, the event's mark). It runs in every
//! instance; leases keep two from handing over one event, and an event whose holder died is
//! taken again when the lease runs out. Delivered events are pruned by `retention`.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use uuid::Uuid;

use crate::services::ServiceResult;
use crate::services::delivery::{audience, webhooks, wechat};
use crate::state::AppState;
use crate::store;
use crate::store::StoreError;
use crate::store::delivery::notifications::NewNotification;
use crate::store::delivery::outbox::{Handover, OutboxEvent};
use crate::store::registry::communities::CommunityRow;

/// An event leased and not handed over in this long is taken again by another relay.
const LEASE_SECONDS: i64 = 30;
/// Events one lease takes. An event waits for the whole batch it is in, so batches are small;
/// but on SQLite each batch also waits twice for the one writer's turn (its lease, its
/// hand-over) behind every request, so there it takes more at once.
fn batch(db: &store::Db) -> i64 {
    match db {
        store::Db::Postgres(_) => 100,
        store::Db::Sqlite(_) => 500,
    }
}

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
        let limit = batch(&ctx.db);
        let events = store::delivery::outbox::lease(&ctx.db, now, lease_until, limit).await?;
        let n = events.len();
        let batch = match Batch::read(ctx, &events).await {
            Ok(b) => b,
            // Left leased: taken again when the lease runs out.
            Err(err) => {
                tracing::warn!(events = n, error = %err, "relay failed to read its batch");
                return Ok(done);
            }
        };
        let batch = &batch;
        let mut planned: Vec<Planned> = futures_util::stream::iter(events)
            .map(|e| async move {
                let p = plan(ctx, batch, &e, now).await;
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
        if (n as i64) < limit {
            return Ok(done);
        }
    }
}

/// What every event of a batch of one community needs, read once a batch: under full load each
/// round trip waits its turn, and the events of a batch are mostly of a few communities.
struct Batch {
    webhooks: HashMap<Uuid, webhooks::fanout::Following>,
    communities: HashMap<Uuid, CommunityRow>,
}

impl Batch {
    async fn read(ctx: &AppState, events: &[OutboxEvent]) -> ServiceResult<Batch> {
        let ids: BTreeSet<Uuid> = events.iter().filter_map(|e| e.community_id).collect();
        let mut b = Batch {
            webhooks: HashMap::new(),
            communities: HashMap::new(),
        };
        for id in ids {
            b.webhooks
                .insert(id, webhooks::fanout::following(ctx, id).await?);
            match store::registry::communities::get(&ctx.db, id).await {
                Ok(c) => {
                    b.communities.insert(id, c);
                }
                Err(StoreError::NotFound) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(b)
    }
}

/// An event and what it becomes on every channel.
struct Planned {
    event: OutboxEvent,
    told: Vec<Uuid>,
    handover: Handover,
}

async fn plan(
    ctx: &AppState,
    batch: &Batch,
    e: &OutboxEvent,
    now: DateTime<Utc>,
) -> ServiceResult<Planned> {
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
    let community = e.community_id.and_then(|c| batch.communities.get(&c));
    let webhook_deliveries = match e.community_id.and_then(|c| batch.webhooks.get(&c)) {
        Some(hooks) => webhooks::fanout::plan(e, hooks, now),
        None => Vec::new(),
    };
    let wechat_messages = wechat::plan::plan(ctx, e, &told, community, now).await?;
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
