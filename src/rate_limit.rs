//! Token buckets (GCRA, by `governor`) in this instance's memory: one per integration client,
//! with the client's own rate and burst, and one per remote address for unauthenticated reads
//! (Open311). Both maps are bounded: past `max_keys` entries, buckets that are full again (and
//! so carry no information) are dropped. With several instances each keeps its own buckets, so
//! a client may reach its limit once per instance.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::state::{InMemoryState, NotKeyed, keyed::DefaultKeyedStateStore};
use governor::{NotUntil, Quota, RateLimiter};
use uuid::Uuid;

type Direct = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;
type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// What a check found, for the `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers):
/// the bucket's size, what is left of it, and seconds until it is full again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

/// Refused: the headers, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub decision: Decision,
    pub retry_after_secs: u64,
}

/// A bucket of `burst` requests refilled at `per_minute`; `None` for zero.
pub fn quota(per_minute: u32, burst: u32) -> Option<Quota> {
    let per_minute = NonZeroU32::new(per_minute)?;
    let burst = NonZeroU32::new(burst)?;
    let period = Duration::from_secs(60) / per_minute.get();
    Some(Quota::with_period(period.max(Duration::from_nanos(1)))?.allow_burst(burst))
}

fn secs_ceil(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn allowed(s: &StateSnapshot) -> Decision {
    let q = s.quota();
    let remaining = s.remaining_burst_capacity();
    let missing = q.burst_size().get().saturating_sub(remaining);
    Decision {
        limit: q.burst_size().get(),
        remaining,
        reset_secs: secs_ceil(q.replenish_interval() * missing),
    }
}

fn refused(n: &NotUntil<<DefaultClock as Clock>::Instant>, clock: &DefaultClock) -> Limited {
    let q = n.quota();
    let wait = n.wait_time_from(clock.now());
    Limited {
        decision: Decision {
            limit: q.burst_size().get(),
            remaining: 0,
            reset_secs: secs_ceil(q.replenish_interval() * q.burst_size().get()),
        },
        retry_after_secs: secs_ceil(wait).max(1),
    }
}

struct ClientBucket {
    per_minute: u32,
    burst: u32,
    limiter: Direct,
}

struct Inner {
    clock: DefaultClock,
    clients: Mutex<HashMap<Uuid, Arc<ClientBucket>>>,
    addresses: Option<Keyed<IpAddr>>,
    max_keys: usize,
}

/// The instance's rate limiters; cheap to clone.
#[derive(Clone)]
pub struct RateLimiters(Arc<Inner>);

impl RateLimiters {
    /// `address_per_minute` 0 turns the per-address limit off.
    pub fn new(address_per_minute: u32, address_burst: u32, max_keys: usize) -> Self {
        let clock = DefaultClock::default();
        let addresses = quota(address_per_minute, address_burst).map(|q| {
            RateLimiter::dashmap_with_clock(q, clock.clone())
                .with_middleware::<StateInformationMiddleware>()
        });
        Self(Arc::new(Inner {
            clock,
            clients: Mutex::new(HashMap::new()),
            addresses,
            max_keys: max_keys.max(1),
        }))
    }

    /// One request of client `id`, whose bucket is `burst` refilled at `per_minute`. A changed
    /// rate or burst starts a new bucket.
    pub fn check_client(&self, id: Uuid, per_minute: i64, burst: i64) -> Result<Decision, Limited> {
        let per_minute = u32::try_from(per_minute).unwrap_or(u32::MAX);
        let burst = u32::try_from(burst).unwrap_or(u32::MAX);
        let Some(q) = quota(per_minute, burst) else {
            return Ok(Decision {
                limit: 0,
                remaining: 0,
                reset_secs: 0,
            });
        };
        let bucket = {
            let mut map = self.0.clients.lock().unwrap_or_else(|e| e.into_inner());
            match map.get(&id) {
                Some(b) if b.per_minute == per_minute && b.burst == burst => b.clone(),
                _ => {
                    if map.len() >= self.0.max_keys {
                        // Clients are few (rows of a table); this only guards against a bug.
                        map.clear();
                    }
                    let b = Arc::new(ClientBucket {
                        per_minute,
                        burst,
                        limiter: RateLimiter::direct_with_clock(q, self.0.clock.clone())
                            .with_middleware::<StateInformationMiddleware>(),
                    });
                    map.insert(id, b.clone());
                    b
                }
            }
        };
        bucket
            .limiter
            .check()
            .map(|s| allowed(&s))
            .map_err(|n| refused(&n, &self.0.clock))
    }

    /// One unauthenticated request from `ip` (Open311's reads without a key).
    pub fn check_address(&self, ip: IpAddr) -> Result<Decision, Limited> {
        let Some(limiter) = &self.0.addresses else {
            return Ok(Decision {
                limit: 0,
                remaining: 0,
                reset_secs: 0,
            });
        };
        let outcome = limiter
            .check_key(&ip)
            .map(|s| allowed(&s))
            .map_err(|n| refused(&n, &self.0.clock));
        if limiter.len() > self.0.max_keys {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clients_bucket_empties_and_says_when_to_retry() {
        let limits = RateLimiters::new(0, 0, 10);
        let id = Uuid::now_v7();
        let first = limits.check_client(id, 60, 3).unwrap();
        assert_eq!((first.limit, first.remaining), (3, 2));
        assert_eq!(first.reset_secs, 1);
        limits.check_client(id, 60, 3).unwrap();
        assert_eq!(limits.check_client(id, 60, 3).unwrap().remaining, 0);
        let no = limits.check_client(id, 60, 3).unwrap_err();
        assert_eq!(no.decision.remaining, 0);
        assert_eq!(no.retry_after_secs, 1);
        // Another client has its own bucket; a new rate starts a new one.
        assert!(limits.check_client(Uuid::now_v7(), 60, 3).is_ok());
        assert!(limits.check_client(id, 60, 4).is_ok());
    }

    #[test]
    fn addresses_are_limited_each() {
        let limits = RateLimiters::new(60, 2, 4);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(limits.check_address(a).is_ok());
        assert!(limits.check_address(a).is_ok());
        assert!(limits.check_address(a).is_err());
        assert!(limits.check_address("10.0.0.2".parse().unwrap()).is_ok());
        assert!(RateLimiters::new(0, 0, 4).check_address(a).is_ok());
    }
}
