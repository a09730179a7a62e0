//! The sender: leases due messages and sends each to WeChat. Any number of instances run it:
//! a lease holds a message while it is attempted, and an attempt records its outcome only while
//! it still holds the message. Each pass costs what is due (the due index), never what exists.
//!
//! Outcomes: sent; `refused` for good when the person has not subscribed (43101); `failed` for
//! good when the message itself is wrong or the retries (5 s, 30 s, 2 min, 10 min, 1 h) are used
//! up; otherwise (no answer, 5xx, busy, rate limit) tried again later. An invalid or expired
//! token is renewed and the message sent again within the same attempt (`crate::wechat`).

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use uuid::Uuid;

use crate::domain::wechat_message::{MessageStatus, Next, after_failure};
use crate::services::ServiceResult;
use crate::services::integrations::wechat_apps;
use crate::state::AppState;
use crate::store;
use crate::store::delivery::wechat_messages::{Leased, Outcome};
use crate::wechat::{AppCredentials, SubscribeMessage};

/// Longer than a batch takes at the worst: a token fetch and a send, each up to their timeout,
/// for every message, `CONCURRENCY` at a time.
const LEASE_SECONDS: i64 = 120;
const BATCH: i64 = 32;
const CONCURRENCY: usize = 8;

/// Sends every message due at `now`; how many were attempted.
pub async fn send_due(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<usize> {
    let mut attempted = 0;
    loop {
        let lease_until = now + Duration::seconds(LEASE_SECONDS);
        let leased =
            store::delivery::wechat_messages::lease(&ctx.db, now, lease_until, BATCH).await?;
        let n = leased.len();
        let mut apps: HashMap<Uuid, Credentials> = HashMap::new();
        for m in &leased {
            if let std::collections::hash_map::Entry::Vacant(e) = apps.entry(m.app) {
                e.insert(
                    wechat_apps::credentials(ctx, m.app)
                        .await
                        .map_err(|e| e.to_string()),
                );
            }
        }
        let apps = &apps;
        let results: Vec<ServiceResult<()>> = futures_util::stream::iter(leased)
            .map(|m| {
                let app = apps.get(&m.app).cloned().unwrap_or(Ok(None));
                attempt(ctx, m, app, now)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for r in results {
            // Left as leased: attempted again when the lease runs out.
            if let Err(e) = r {
                tracing::warn!(error = %e, "a WeChat message's outcome was not recorded");
            }
        }
        attempted += n;
        if (n as i64) < BATCH {
            return Ok(attempted);
        }
    }
}

/// An app's credentials; none when it is inactive or gone; an error when they could not be
/// read (the database away): then the message is tried again like any failed attempt.
type Credentials = Result<Option<AppCredentials>, String>;

async fn attempt(
    ctx: &AppState,
    m: Leased,
    app: Credentials,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let outcome = match app {
        Err(e) => match after_failure(None, m.attempts) {
            Next::Final(status) => Outcome::Final(status, e),
            Next::RetryIn(wait) => Outcome::RetryAt(now + wait, e),
        },
        Ok(None) => Outcome::Final(
            MessageStatus::Failed,
            "the WeChat app is inactive or gone".into(),
        ),
        Ok(Some(app)) => {
            let msg = SubscribeMessage {
                touser: &m.openid,
                template_id: &m.template_id,
                page: &m.page,
                data: &m.data.0,
                miniprogram_state: &ctx.config.wechat_miniprogram_state,
                lang: "zh_CN",
            };
            match ctx.wechat.send_subscribe_message(&app, &msg).await {
                Ok(()) => Outcome::Sent,
                Err(e) => {
                    tracing::info!(message = %m.id, attempt = m.attempts, error = %e,
                        "WeChat did not take a subscription message");
                    match after_failure(e.errcode(), m.attempts) {
                        Next::Final(status) => Outcome::Final(status, e.to_string()),
                        Next::RetryIn(wait) => Outcome::RetryAt(now + wait, e.to_string()),
                    }
                }
            }
        }
    };
    let held =
        store::delivery::wechat_messages::finish(&ctx.db, m.id, m.attempts, &outcome, store::now())
            .await?;
    if !held {
        tracing::info!(message = %m.id, "a WeChat message's lease ran out before its outcome");
    }
    Ok(())
}

/// Runs the sender every `interval` until `stop` says so; a pass under way is finished first.
pub fn spawn(
    ctx: AppState,
    interval: StdDuration,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    crate::services::periodic::spawn(ctx, interval, stop, "WeChat sender", |c| {
        Box::pin(send_due(c, store::now()))
    })
}
