//! What is kept only for a while: idempotency keys and their stored answers, for
//! `Config.idempotency_ttl` (24 h by default), delivered outbox events, for
//! `Config.outbox_retention` (30 days), as are finished webhook deliveries and WeChat messages,
//! and stream and WeChat binding tickets, until they expire. The sweeper prunes a bounded batch per tick, so a
//! tick costs what has expired, never what exists.

use chrono::{DateTime, Duration, Utc};

use crate::services::ServiceResult;
use crate::state::AppState;
use crate::store;

const BATCH: i64 = 1000;

/// Deletes expired idempotency keys, outbox events, deliveries, WeChat messages, stream
/// tickets and WeChat binding tickets; how many went.
pub async fn prune(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<u64> {
    let ttl = Duration::from_std(ctx.config.idempotency_ttl).unwrap_or(Duration::hours(24));
    let keys = store::idempotency::prune(&ctx.db, now - ttl, BATCH).await?;
    let keep = Duration::from_std(ctx.config.outbox_retention).unwrap_or(Duration::days(30));
    let events = store::delivery::outbox::prune(&ctx.db, now - keep, BATCH).await?;
    let deliveries = store::delivery::webhook_deliveries::prune(&ctx.db, now - keep, BATCH).await?;
    let messages = store::delivery::wechat_messages::prune(&ctx.db, now - keep, BATCH).await?;
    let tickets = store::delivery::tickets::prune(&ctx.db, now, BATCH).await?;
    let binding = store::integrations::wechat_login::prune_tickets(&ctx.db, now, BATCH).await?;
    Ok(keys + events + deliveries + messages + tickets + binding)
}
