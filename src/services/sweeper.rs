//! The sweeper: processes the timers that are due (offer expiry, the next dispatch round, SLA
//! reminders and overdue alerts, auto close), marks visits missed and generates the next ones.
//! It runs in every instance; a timer is leased by one of them at a time, and every step is a
//! guarded transition, so running it twice is harmless. Leases are small and their steps run
//! side by side, so that a burst of timers falling due together is shared by all the instances
//! instead of queued behind the one that leased it.

use std::collections::VecDeque;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};
use serde_json::json;
use tokio::sync::watch;

use crate::config::Config;
use crate::domain::help_request::{Action, Status};
use crate::services::requests::dispatch;
use crate::services::requests::lifecycle::{event, next_sla_checkpoint, sla_of, timer, transition};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::requests::help_requests::{Effects, HelpRequestRow};
use crate::store::timers::DueTimer;
use crate::store::{self, StoreError};

/// How a sweep takes its share of the due timers (`HUYING_TIMER_*`).
#[derive(Debug, Clone, Copy)]
struct Pace {
    batch: i64,
    concurrency: usize,
    lease: Duration,
}

impl Pace {
    fn of(c: &Config) -> Self {
        // A step holds one connection at a time, two for a moment while dispatch reads side by
        // side: half the pool at most keeps connections free for requests.
        let for_timers = (c.db_max_connections as usize / 2).max(1);
        Self {
            batch: i64::from(c.timer_batch.max(1)),
            concurrency: c.timer_concurrency.clamp(1, for_timers),
            lease: Duration::from_std(c.timer_lease)
                .unwrap_or(Duration::seconds(20))
                .max(Duration::seconds(1)),
        }
    }
}

/// One lease on a batch: its end as written in the database (the holder's token), and the
/// moment, by this process's clock, after which a timer not yet started is handed back.
#[derive(Clone, Copy)]
struct Lease {
    until: DateTime<Utc>,
    start_by: Instant,
}

/// What the sweeper did, for `/metrics`: steps finished by timer kind, and how late they started.
#[derive(Clone)]
pub struct SweeperMetrics {
    steps: IntCounterVec,
    lag: HistogramVec,
}

impl SweeperMetrics {
    pub fn new() -> Self {
        let steps = IntCounterVec::new(
            Opts::new(
                "huying_timer_steps_total",
                "Timer steps this instance finished, by kind",
            ),
            &["kind"],
        )
        .expect("valid metric");
        let lag = HistogramVec::new(
            HistogramOpts::new(
                "huying_timer_lag_seconds",
                "How long after its due time a timer step started",
            )
            .buckets(vec![0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0]),
            &["kind"],
        )
        .expect("valid metric");
        Self { steps, lag }
    }

    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![Box::new(self.steps.clone()), Box::new(self.lag.clone())]
    }

    fn finished(&self, t: &DueTimer, started: DateTime<Utc>) {
        self.steps.with_label_values(&[t.kind.as_str()]).inc();
        let late = (started - t.due_at).num_milliseconds().max(0) as f64 / 1000.0;
        self.lag.with_label_values(&[t.kind.as_str()]).observe(late);
    }
}

impl Default for SweeperMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Processes every timer due at `now`; returns how many were finished. Tests pass a future `now`
/// to make time pass.
pub async fn sweep(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<usize> {
    let done = drain(ctx, &|| now, None, None).await?;
    Ok(done + due_steps(ctx, now).await?)
}

/// The periodic steps beside the timers, each costing what is due at `now` and safe in any
/// number of instances; returns how many visits it generated or marked missed.
async fn due_steps(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<usize> {
    crate::services::retention::prune(ctx, now).await?;
    // 三务公开: notices published for later are announced when their time comes.
    store::notices::notice_rows::announce_due(&ctx.db, now, 500).await?;
    // 议事: votes whose time has come are closed, and their close announced.
    crate::services::deliberation::votes::close_due_votes(ctx, now).await?;
    // 一呼百应: check-ins left open for a day are closed at the planned end.
    crate::services::mobilisation::attendance::auto_check_out(ctx, now).await?;
    // 一小: children not signed out 30 minutes after their session ends raise an alert.
    crate::services::activities::attendance::sweep(ctx, now).await?;
    // Visits: windows that passed become missed, and the next ones are generated.
    crate::services::visits::generation::sweep(ctx, now).await
}

/// Leases due timers a small batch at a time and runs their steps side by side (the timers of
/// one request in turn), leasing the next batch as soon as the steps have taken the last one,
/// until a lease comes back short: everything due is then taken, by this instance or another.
/// `clock` is read for every lease and every step, so a live sweep takes timers that fall due
/// while it runs, and what a step writes carries the time it ran.
async fn drain(
    ctx: &AppState,
    clock: &(dyn Fn() -> DateTime<Utc> + Sync),
    metrics: Option<&SweeperMetrics>,
    stop: Option<&watch::Receiver<bool>>,
) -> ServiceResult<usize> {
    let pace = Pace::of(&ctx.config);
    let mut done = 0;
    loop {
        let mut running = FuturesUnordered::new();
        let mut waiting: VecDeque<(Lease, Vec<DueTimer>)> = VecDeque::new();
        // The next lease is polled beside the steps under way: on SQLite it waits for this
        // process's turn to write, which one of them may hold.
        let mut leasing = None;
        let (mut more, mut handed_back, mut failed) = (true, 0, None);
        loop {
            while running.len() < pace.concurrency {
                let Some((lease, timers)) = waiting.pop_front() else {
                    break;
                };
                running.push(run(ctx, timers, lease, clock, metrics, stop));
            }
            if leasing.is_none()
                && waiting.is_empty()
                && running.len() < pace.concurrency
                && more
                && failed.is_none()
                && !stopping(stop)
            {
                leasing = Some(Box::pin(lease(ctx, clock, pace)));
            }
            if running.is_empty() && leasing.is_none() {
                break;
            }
            tokio::select! {
                Some((finished, back)) = running.next(), if !running.is_empty() => {
                    done += finished;
                    handed_back += back;
                }
                leased = async { leasing.as_mut().expect("leasing").await }, if leasing.is_some() => {
                    leasing = None;
                    match leased {
                        Ok((lease, due)) => {
                            more = due.len() as i64 >= pace.batch;
                            waiting.extend(by_request(due).into_iter().map(|g| (lease, g)));
                        }
                        Err(e) => failed = Some(e),
                    }
                }
            }
        }
        if let Some(e) = failed {
            return Err(e.into());
        }
        // Timers handed back (not started in time) are due still: take them again.
        if stopping(stop) || handed_back == 0 {
            return Ok(done);
        }
    }
}

/// Leases the next batch of due timers.
async fn lease(
    ctx: &AppState,
    clock: &(dyn Fn() -> DateTime<Utc> + Sync),
    pace: Pace,
) -> Result<(Lease, Vec<DueTimer>), StoreError> {
    let now = clock();
    let lease = Lease {
        until: now + pace.lease,
        start_by: Instant::now() + (pace.lease / 2).to_std().unwrap_or_default(),
    };
    let due = store::timers::lease_due(&ctx.db, now, lease.until, pace.batch).await?;
    Ok((lease, due))
}

/// The leased timers grouped by request, in due order: a request's timers run one after another,
/// since their steps would only race each other's guards.
fn by_request(due: Vec<DueTimer>) -> Vec<Vec<DueTimer>> {
    let mut groups: Vec<Vec<DueTimer>> = Vec::new();
    for t in due {
        match groups.iter_mut().find(|g| g[0].request_id == t.request_id) {
            Some(g) => g.push(t),
            None => groups.push(vec![t]),
        }
    }
    groups
}

/// Runs one request's leased timers; (finished, handed back).
async fn run(
    ctx: &AppState,
    timers: Vec<DueTimer>,
    lease: Lease,
    clock: &(dyn Fn() -> DateTime<Utc> + Sync),
    metrics: Option<&SweeperMetrics>,
    stop: Option<&watch::Receiver<bool>>,
) -> (usize, usize) {
    let (mut done, mut handed_back) = (0, 0);
    for t in timers {
        if stopping(stop) || Instant::now() >= lease.start_by {
            // Not started in time (the lease could run out under the step) or stopping: anyone
            // may take it now, rather than when the lease ends.
            if let Err(e) = store::timers::release(&ctx.db, t.id, lease.until).await {
                tracing::warn!(timer = %t.id, error = %e, "timer not handed back");
            }
            handed_back += 1;
            continue;
        }
        let now = clock();
        match process(ctx, &t, now).await {
            Ok(()) => {
                if let Some(m) = metrics {
                    m.finished(&t, now);
                }
                done += 1;
                // If this fails the timer is taken again when the lease ends, and its step,
                // already committed, finds nothing left to do.
                if let Err(e) = store::timers::done(&ctx.db, t.id, lease.until).await {
                    tracing::warn!(timer = %t.id, kind = %t.kind, error = %e, "timer not cleared");
                }
            }
            // Left leased: taken again when the lease runs out.
            Err(e) => tracing::warn!(timer = %t.id, kind = %t.kind, error = %e, "timer failed"),
        }
    }
    (done, handed_back)
}

fn stopping(stop: Option<&watch::Receiver<bool>>) -> bool {
    stop.is_some_and(|s| *s.borrow())
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

/// The offers ran out: they expire, and the next round (offers to the next candidates, or the
/// escalation when the attempts are spent) commits with them. The round is planned first, on the
/// request as read: the offers running out are its open ones, whose volunteers the candidates
/// leave out already. If the request moved meanwhile, a dispatch timer plans it again.
async fn expire_offers(
    ctx: &AppState,
    r: &HelpRequestRow,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let planned = if r.status == Status::Offered {
        let rules = dispatch::rules(ctx, r.community_id).await?;
        Some(dispatch::plan_round(ctx, &rules, r, None, now).await?)
    } else {
        None
    };
    let round = planned.as_ref().map(|(n, fx)| (n, r.version, fx));
    let plan_again = Effects {
        at: now,
        add_timers: vec![timer(r, "dispatch", now)],
        ..Effects::default()
    };
    store::requests::help_requests::expire_offers(&ctx.db, r.id, now, round, &plan_again).await?;
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

/// Runs the sweeper every `interval` until `stop` says so. A tick with more due than one lease
/// takes keeps leasing until it has caught up. On a stop the steps under way are finished and the
/// timers leased but not started are handed back (each step is idempotent, but a finished step
/// is not done twice by the next instance).
pub fn spawn(
    ctx: AppState,
    interval: StdDuration,
    mut stop: watch::Receiver<bool>,
    metrics: SweeperMetrics,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            let swept = async {
                drain(&ctx, &store::now, Some(&metrics), Some(&stop)).await?;
                if !stopping(Some(&stop)) {
                    due_steps(&ctx, store::now()).await?;
                }
                ServiceResult::Ok(())
            };
            if let Err(e) = swept.await {
                tracing::warn!(error = %e, "sweep failed");
            }
            if *stop.borrow() {
                break;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_steps_leave_half_the_pool_for_requests() {
        let mut c = Config::from_env().expect("config");
        c.timer_batch = 20;
        c.timer_concurrency = 8;
        c.timer_lease = StdDuration::from_secs(15);
        c.db_max_connections = 10;
        let p = Pace::of(&c);
        assert_eq!((p.batch, p.concurrency), (20, 5));
        assert_eq!(p.lease, Duration::seconds(15));
        c.db_max_connections = 1;
        assert_eq!(Pace::of(&c).concurrency, 1);
        c.db_max_connections = 64;
        assert_eq!(Pace::of(&c).concurrency, 8);
    }
}
