//! Sending deliveries: one HTTP client per instance, and the slots that bound how many it holds
//! (at most `webhook_concurrency` leased deliveries in hand; one endpoint sends at most a quarter
//! of that at once and is leased no more while it holds that many, so a slow or dead endpoint
//! never occupies the slots of the others).
//!
//! The client resolves names itself and connects only to the addresses it checked (public ones,
//! unless `webhook_allow_private`), so a name that resolved to a public address at registration
//! and to a private one now (DNS rebinding) reaches nothing. It follows no redirects and uses no
//! proxy; each request has `webhook_timeout` in all.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::config::Config;
use crate::domain::webhook::{UrlProblem, is_public, parse_url};

/// What one attempt got.
#[derive(Debug, Clone)]
pub struct Sent {
    pub status: Option<u16>,
    pub latency: Duration,
    /// Why there is no status, or a short note on a failing one.
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("address not allowed")]
struct NotAllowed;

/// Resolves with the system resolver and keeps only the addresses that may be reached.
struct CheckedResolver {
    allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(NotAllowed) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

struct Inner {
    client: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
    slots: Arc<Semaphore>,
    per_endpoint: usize,
    endpoints: Mutex<HashMap<Uuid, Share>>,
    /// A slot came free, or an endpoint fell below its share: there may be work to lease.
    freed: Notify,
    /// Deliveries were queued (by this instance's relay) or made due (a retry, a replay).
    due: Notify,
}

/// What one endpoint holds: its deliveries in hand (sending or waiting their turn), and the
/// turns that let at most `per_endpoint` of them send at once.
struct Share {
    held: usize,
    turns: Arc<Semaphore>,
}

/// The sending side of this instance, shared by its worker and its request handlers.
#[derive(Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sender(..)")
    }
}

/// One leased delivery in hand: a slot of the instance, held until it is sent and recorded.
pub struct Slot {
    inner: Arc<Inner>,
    webhook_id: Uuid,
    turns: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Slot {
    /// Waits for the endpoint's turn: at most its share sends at once, the rest wait here.
    pub async fn turn(&self) -> Option<OwnedSemaphorePermit> {
        self.turns.clone().acquire_owned().await.ok()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let fell_below_share = {
            let mut m = self
                .inner
                .endpoints
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            match m.get_mut(&self.webhook_id) {
                Some(share) => {
                    share.held -= 1;
                    let below = share.held + 1 == self.inner.per_endpoint;
                    if share.held == 0 {
                        m.remove(&self.webhook_id);
                    }
                    below
                }
                None => false,
            }
        };
        drop(self.permit.take());
        if fell_below_share || self.inner.slots.available_permits() == 1 {
            self.inner.freed.notify_one();
        }
    }
}

impl Sender {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        crate::tls::install_provider();
        let per_endpoint = (config.webhook_concurrency / 4).max(1);
        let client = reqwest::Client::builder()
            .timeout(config.webhook_timeout)
            .connect_timeout(config.webhook_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(per_endpoint)
            .user_agent(concat!("Huying-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(CheckedResolver {
                allow_private: config.webhook_allow_private,
            })
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                allow_private: config.webhook_allow_private,
                timeout: config.webhook_timeout,
                slots: Arc::new(Semaphore::new(config.webhook_concurrency)),
                per_endpoint,
                endpoints: Mutex::new(HashMap::new()),
                freed: Notify::new(),
                due: Notify::new(),
            }),
        })
    }

    /// How many more deliveries this instance may take in hand now, in one lease: its free
    /// slots, and never more than one endpoint's share.
    pub fn room(&self) -> usize {
        self.inner
            .slots
            .available_permits()
            .min(self.inner.per_endpoint)
    }

    /// The endpoints that hold their share already: the next lease leaves them out, so that
    /// neither a slow endpoint nor a long queue for one takes the slots of the others.
    pub fn full_endpoints(&self) -> Vec<Uuid> {
        let m = self
            .inner
            .endpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        m.iter()
            .filter(|(_, s)| s.held >= self.inner.per_endpoint)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Takes a leased delivery for `webhook_id` in hand; `None` when no slot is free.
    pub fn take(&self, webhook_id: Uuid) -> Option<Slot> {
        let permit = self.inner.slots.clone().try_acquire_owned().ok()?;
        let mut m = self
            .inner
            .endpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let share = m.entry(webhook_id).or_insert_with(|| Share {
            held: 0,
            turns: Arc::new(Semaphore::new(self.inner.per_endpoint)),
        });
        share.held += 1;
        Some(Slot {
            inner: self.inner.clone(),
            webhook_id,
            turns: share.turns.clone(),
            permit: Some(permit),
        })
    }

    /// Resolves when there may be room for more (at once if there was since the last call).
    pub async fn slot_freed(&self) {
        self.inner.freed.notified().await
    }

    /// Tells the worker that deliveries are due.
    pub fn wake(&self) {
        self.inner.due.notify_one();
    }

    pub async fn woken(&self) {
        self.inner.due.notified().await
    }

    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// POSTs `body` with the Standard Webhooks headers. Never fails: what went wrong is in the
    /// answer, for the attempt's record.
    pub async fn post(
        &self,
        url: &str,
        id: &str,
        timestamp: i64,
        signature: &str,
        body: String,
    ) -> Sent {
        let started = Instant::now();
        let refused = |error: &str| Sent {
            status: None,
            latency: started.elapsed(),
            error: Some(error.to_string()),
        };
        // Address literals never reach the resolver: checked here.
        match parse_url(url, true, self.inner.allow_private) {
            Ok(_) => {}
            Err(UrlProblem::NotAllowed) => return refused("address not allowed"),
            Err(UrlProblem::Invalid(_)) => return refused("invalid url"),
        }
        let sent = self
            .inner
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let mut res = match sent {
            Ok(r) => r,
            Err(e) => return refused(&describe(e, self.inner.timeout)),
        };
        let status = res.status().as_u16();
        // Read (a little of) the answer so that the connection can be used again.
        let mut read = 0usize;
        let mut error = None;
        loop {
            match res.chunk().await {
                Ok(Some(c)) if read + c.len() <= 64 * 1024 => read += c.len(),
                Ok(_) => break,
                Err(e) => {
                    error = Some(describe(e, self.inner.timeout));
                    break;
                }
            }
        }
        Sent {
            status: Some(status),
            latency: started.elapsed(),
            error: if (200..300).contains(&status) {
                None
            } else {
                error.or_else(|| Some(format!("HTTP {status}")))
            },
        }
    }
}

/// A short description of a failed request, without its URL.
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = source {
        if s.is::<NotAllowed>() {
            return "address not allowed".into();
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return "connection refused".into();
        }
        source = s.source();
    }
    if e.is_timeout() {
        format!("timed out after {} ms", timeout.as_millis())
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        e.without_url().to_string().chars().take(200).collect()
    }
}
