//! The allowance of Open311 reads without a key, per caller address: a token bucket of
//! [`BURST`] reads refilled at [`PER_MINUTE`]. Key holders are limited as clients instead.
//!
//! One small function ([`allow_anonymous_read`]) so that the deployment's own limiter can take
//! its place; until then the buckets live in this process, one set per running server.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

pub const BURST: f64 = 60.0;
pub const PER_MINUTE: f64 = 120.0;
/// Buckets kept before idle full ones are dropped.
const MAX_BUCKETS: usize = 100_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

type Buckets = HashMap<(usize, IpAddr), Bucket>;

fn buckets() -> &'static Mutex<Buckets> {
    static B: OnceLock<Mutex<Buckets>> = OnceLock::new();
    B.get_or_init(Default::default)
}

/// Takes one read from `addr`'s allowance on the server `server` (any value that tells running
/// servers apart); `Err(seconds)` to wait when it is spent.
pub fn allow_anonymous_read(server: usize, addr: IpAddr) -> Result<(), u64> {
    let now = Instant::now();
    let mut all = buckets().lock().unwrap_or_else(|e| e.into_inner());
    if all.len() >= MAX_BUCKETS {
        all.retain(|_, b| {
            b.tokens + now.duration_since(b.at).as_secs_f64() * PER_MINUTE / 60.0 < BURST
        });
    }
    let b = all.entry((server, addr)).or_insert(Bucket {
        tokens: BURST,
        at: now,
    });
    let refill = now.duration_since(b.at).as_secs_f64() * PER_MINUTE / 60.0;
    b.tokens = (b.tokens + refill).min(BURST);
    b.at = now;
    if b.tokens >= 1.0 {
        b.tokens -= 1.0;
        Ok(())
    } else {
        Err(((1.0 - b.tokens) * 60.0 / PER_MINUTE).ceil().max(1.0) as u64)
    }
}
