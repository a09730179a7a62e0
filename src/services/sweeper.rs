//! The sweeper: processes the timers that are due (offer expiry, the next dispatch round, SLA
//! reminders and overdue alerts, auto close), marks visits missed and generates the next ones. It runs in every instance; a timer is leased by
//! one of them at a time, and every step is a guarded transition, so running it twice is
//! harmless.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::domain::help_request::{Action, Status};
use crate::services::requests::dispatch;
use crate::services::requests::lifecycle::{event, next_sla_checkpoint, sla_of, timer, transition};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::requests::help_requests::{Effects, HelpRequestRow};
use crate::store::timers::DueTimer;
use crate::store::{self, StoreError};

/// A leased timer not finished in this long is taken again by someone else.
const LEASE_SECONDS: i64 = 60;
const BATCH: i64 = 200;

/// Processes every timer due at `now`; returns how many were finished. Tests pass a future `now`
/// to make time pass.
pub async fn sweep(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<usize> {
    let mut done = 0;
    loop {
        let due =
            store::timers::lease_due(&ctx.db, now, now + Duration::seconds(LEASE_SECONDS), BATCH)
                .await?;
        let n = due.len();
        for t in due {
            match process(ctx, &t, now).await {
                Ok(()) => {
                    store::timers::done(&ctx.db, t.id).await?;
                    done += 1;
                }
                // Left leased: taken again when the lease runs out.
                Err(e) => tracing::warn!(timer = %t.id, kind = %t.kind, error = %e, "timer failed"),
            }
        }
        if (n as i64) < BATCH {
            crate::services::retention::prune(ctx, now).await?;
            // Visits: windows that passed become missed, and the next ones are generated.
            return Ok(done + crate::services::visits::generation::sweep(ctx, now).await?);
        }
    }
}

async fn process(ctx: &AppState, t: &DueTimer, now: DateTime<Utc>) -> ServiceResult<()> {
    let r = match store::requests::help_requests::get(&ctx.db, t.request_id).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if r.status.is_final() {
        return Ok(());
    }
    match t.kind.as_str() {
        "offer_expiry" => expire_offers(ctx, &r, now).await,
        "dispatch" => dispatch::advance(ctx, r.id, now).await,
        "sla" => deadlines(ctx, &r, now).await,
        "auto_close" => auto_close(ctx, &r, now).await,
        _ => Ok(()),
    }
}

async fn expire_offers(
    ctx: &AppState,
    r: &HelpRequestRow,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let events = Effects {
        at: now,
        ..Effects::default()
    };
    let next_round = Effects {
        at: now,
        add_timers: vec![timer(r, "dispatch", now)],
        ..Effects::default()
    };
    let (_, open) = store::requests::help_requests::answer_without_transition(
        &ctx.db,
        r.id,
        &events,
        Some(now),
        &next_round,
    )
    .await?;
    if open == 0 && r.status == Status::Offered {
        dispatch::advance(ctx, r.id, now).await?;
    }
    Ok(())
}

/// 催办 before each deadline, 督办 after it: reminders for the assignee (or the dispatchers),
/// overdue flags and alerts for the dispatchers and the grid worker.
async fn deadlines(ctx: &AppState, r: &HelpRequestRow, now: DateTime<Utc>) -> ServiceResult<()> {
    // Written only on the state read; if the request moved meanwhile, look again.
    let mut r = r.clone();
    for _ in 0..3 {
        if flag_deadlines(ctx, &r, now).await? {
            return Ok(());
        }
        r = store::requests::help_requests::get(&ctx.db, r.id).await?;
        if r.status.is_final() {
            return Ok(());
        }
    }
    Err(ServiceError::Conflict("state_changed"))
}

async fn flag_deadlines(
    ctx: &AppState,
    r: &HelpRequestRow,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let rules = dispatch::rules(ctx, r.community_id).await?;
    let mut n = r.clone();
    let mut fx = Effects {
        at: now,
        ..Effects::default()
    };
    let to = |r: &HelpRequestRow| match r.assignee_id {
        Some(v) => json!({"volunteer_id": v}),
        None => json!("dispatchers"),
    };
    let pct = rules.policy.deadlines.remind_at_percent;
    let [respond, resolve] = sla_of(r);
    for (which, d) in [("respond", respond), ("resolve", resolve)] {
        let due = d.due_at(pct, now);
        let (reminded, overdue) = if which == "respond" {
            (&mut n.respond_reminded, &mut n.respond_overdue)
        } else {
            (&mut n.resolve_reminded, &mut n.resolve_overdue)
        };
        if due.remind {
            *reminded = true;
            fx.events.push(event(
                r,
                "reminder",
                None,
                None,
                None,
                json!({"deadline": which, "due": d.due, "notify": to(r)}),
                now,
            ));
        }
        if due.overdue {
            *overdue = true;
            *reminded = true;
            fx.events.push(event(
                r,
                "overdue",
                None,
                None,
                None,
                json!({"deadline": which, "due": d.due}),
                now,
            ));
            fx.events.push(event(r, "alert", None, None, None,
                json!({"alert": format!("{which}_overdue"), "notify": ["dispatchers", "grid_worker"], "grid_id": r.grid_id}), now));
        }
    }
    // One chain of SLA timers per request, whatever happened before.
    fx.drop_timers.push("sla");
    if let Some(t) = next_sla_checkpoint(&n, pct, now)
        && t > now
    {
        fx.add_timers.push(timer(r, "sla", t));
    }
    Ok(store::requests::help_requests::flag(&ctx.db, &n, &fx).await?)
}

async fn auto_close(ctx: &AppState, r: &HelpRequestRow, now: DateTime<Utc>) -> ServiceResult<()> {
    if r.status != Status::Completed {
        return Ok(());
    }
    let data = json!({"reason": "no_rating"});
    match transition(ctx, r, Action::AutoClose, None, data, now, |n, _| {
        n.closed_at = Some(now);
        n.close_reason = Some("auto_closed".into());
    })
    .await
    {
        Ok(_) | Err(ServiceError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Runs the sweeper every `interval` until the process ends.
/// Runs until `stop` says so; a sweep under way is finished first (its steps are idempotent,
/// but a finished step is not done twice by the next instance).
pub fn spawn(
    ctx: AppState,
    interval: StdDuration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            if let Err(e) = sweep(&ctx, store::now()).await {
                tracing::warn!(error = %e, "sweep failed");
            }
            if *stop.borrow() {
                break;
            }
        }
    })
}
