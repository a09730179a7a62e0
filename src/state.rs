//! What every request can reach: the database, keys and settings.

use std::sync::Arc;

use crate::auth::{JwtKeys, PasswordHashing};
use crate::config::Config;
use crate::crypto::Vault;
use crate::services::delivery::signal::InboxSignal;
use crate::services::registry::resident_hooks::ResidentHooks;
use crate::store::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub jwt: JwtKeys,
    pub passwords: PasswordHashing,
    pub vault: Vault,
    pub config: Config,
    /// What residents mean to the capabilities above the registry (visits).
    pub resident_hooks: Arc<dyn ResidentHooks>,
    /// Wakes this process's live streams.
    pub inbox_signal: InboxSignal,
    /// Sends webhook deliveries (the client and its slots).
    pub webhooks: crate::services::delivery::webhooks::sender::Sender,
    /// The WeChat server API, with its token cache.
    pub wechat: crate::wechat::WechatApi,
    /// Per-client and per-address token buckets of this instance.
    pub rate_limits: crate::rate_limit::RateLimiters,
}
