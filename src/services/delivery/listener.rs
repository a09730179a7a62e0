//! Hears what other instances hand over (PostgreSQL `LISTEN huying_inbox`) and wakes this
//! instance's streams of those users. Runs in every instance on PostgreSQL. When its connection
//! is lost it connects again with back-off, and once listening again wakes every stream to read
//! its inbox: whatever was announced meanwhile is found there, so nothing is lost.

use std::time::Duration;

use crate::state::AppState;
use crate::store::delivery::inbox_channel::{self, Heard};

const FIRST_PAUSE: Duration = Duration::from_millis(250);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// Listens until `stop` says so; ends at once on SQLite.
pub fn spawn(
    ctx: AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pause = FIRST_PAUSE;
        loop {
            let connected = tokio::select! {
                c = inbox_channel::listen(&ctx.db, ctx.config.db_acquire_timeout) => c,
                _ = stop.changed() => return,
            };
            match connected {
                Ok(None) => return,
                Ok(Some(mut listener)) => {
                    pause = FIRST_PAUSE;
                    ctx.inbox_signal.everyone();
                    loop {
                        let heard = tokio::select! {
                            h = listener.next() => h,
                            _ = stop.changed() => return,
                        };
                        match heard {
                            Ok(Heard::User(user)) => ctx.inbox_signal.told(&[user]),
                            Ok(Heard::Reconnected) => {
                                tracing::warn!("inbox listener reconnected; streams read again");
                                ctx.inbox_signal.everyone();
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "inbox listener lost the database");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64,
                    "inbox listener cannot listen"),
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => return,
            }
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    })
}
