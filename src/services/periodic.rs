//! The loop of a background worker that runs a step every `interval` until told to stop; a step
//! under way is finished first. A failed step is logged and tried again at the next tick.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::services::ServiceResult;
use crate::state::AppState;

/// One pass of a worker over what is due.
pub type Step<T> =
    for<'a> fn(&'a AppState) -> Pin<Box<dyn Future<Output = ServiceResult<T>> + Send + 'a>>;

pub fn spawn<T: Send + 'static>(
    ctx: AppState,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
    what: &'static str,
    step: Step<T>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            if let Err(e) = step(&ctx).await {
                tracing::warn!(error = %e, worker = what, "a background step failed");
            }
            if *stop.borrow() {
                break;
            }
        }
    })
}
