//! Wakes the live streams of this process when someone has something new in their inbox. The
//! relay of this process signals directly; on PostgreSQL, a listener signals for the events
//! other instances hand over (`LISTEN huying_inbox`, see `listener`). A signal carries only the
//! user's id: the stream reads what is new from the inbox, so a missed or doubled signal loses
//! nothing, and `everyone` makes every stream read again after signals may have been missed.
//!
//! Streams register by user, so a signal wakes only that user's streams: with 10,000 streams
//! open, an event costs one wake-up, not 10,000.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use uuid::Uuid;

const SHARDS: usize = 16;

type Waiters = HashMap<Uuid, Vec<Arc<Notify>>>;

struct Registry {
    shards: [Mutex<Waiters>; SHARDS],
    closing: AtomicBool,
}

#[derive(Clone)]
pub struct InboxSignal {
    inner: Arc<Registry>,
}

impl Default for InboxSignal {
    fn default() -> Self {
        Self {
            inner: Arc::new(Registry {
                shards: std::array::from_fn(|_| Mutex::default()),
                closing: AtomicBool::new(false),
            }),
        }
    }
}

fn shard_of(user: Uuid) -> usize {
    // The low bits of a UUIDv7 are random.
    user.as_bytes()[15] as usize % SHARDS
}

impl Registry {
    fn shard(&self, user: Uuid) -> std::sync::MutexGuard<'_, Waiters> {
        self.shards[shard_of(user)]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

impl InboxSignal {
    /// Wakes the streams of these users.
    pub fn told(&self, users: &[Uuid]) {
        for u in users {
            if let Some(waiters) = self.inner.shard(*u).get(u) {
                // `notify_one` keeps a permit for a stream that is busy sending: it reads again
                // as soon as it waits.
                waiters.iter().for_each(|w| w.notify_one());
            }
        }
    }

    /// Wakes every stream to read its inbox again (signals may have been lost: the PostgreSQL
    /// listener was reconnected).
    pub fn everyone(&self) {
        for shard in &self.inner.shards {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            shard.values().flatten().for_each(|w| w.notify_one());
        }
    }

    /// Ends every stream (the server is stopping; clients reconnect elsewhere).
    pub fn close_all(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        self.everyone();
    }

    /// Registers a stream of `user`; it is unregistered when the `Watch` is dropped.
    pub fn watch(&self, user: Uuid) -> Watch {
        let notify = Arc::new(Notify::new());
        self.inner
            .shard(user)
            .entry(user)
            .or_default()
            .push(notify.clone());
        Watch {
            registry: self.inner.clone(),
            user,
            notify,
        }
    }

    /// Streams open in this process.
    pub fn streams(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .values()
                    .map(Vec::len)
                    .sum::<usize>()
            })
            .sum()
    }
}

/// One stream's registration.
pub struct Watch {
    registry: Arc<Registry>,
    user: Uuid,
    notify: Arc<Notify>,
}

impl Watch {
    /// Until this user is told something (or everyone is woken) since the last wake-up.
    pub async fn woken(&self) {
        self.notify.notified().await
    }

    /// The server is stopping: the stream should end.
    pub fn closing(&self) -> bool {
        self.registry.closing.load(Ordering::SeqCst)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut shard = self.registry.shard(self.user);
        if let Some(waiters) = shard.get_mut(&self.user) {
            waiters.retain(|w| !Arc::ptr_eq(w, &self.notify));
            if waiters.is_empty() {
                shard.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::timeout;

    async fn wakes(w: &Watch) -> bool {
        timeout(Duration::from_millis(50), w.woken()).await.is_ok()
    }

    #[tokio::test]
    async fn a_signal_wakes_only_the_streams_of_its_user_and_is_kept_until_they_wait() {
        let s = InboxSignal::default();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let (a1, a2, b1) = (s.watch(a), s.watch(a), s.watch(b));
        // Told before anyone waits: kept, once.
        s.told(&[a, a]);
        assert!(wakes(&a1).await && wakes(&a2).await);
        assert!(
            !wakes(&a1).await,
            "two signals before a wait are one wake-up"
        );
        assert!(!wakes(&b1).await);
        s.everyone();
        assert!(wakes(&a1).await && wakes(&b1).await);
        assert_eq!(s.streams(), 3);
        drop(a2);
        drop(b1);
        assert_eq!(s.streams(), 1);
        s.told(&[b]);
        assert!(!s.inner.shard(b).contains_key(&b), "nobody left for b");
        assert!(!a1.closing());
        s.close_all();
        assert!(wakes(&a1).await && a1.closing());
    }
}
