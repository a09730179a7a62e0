//! Integrations storage: WeChat apps (`wechat_apps`) and people's WeChat identities
//! (`wechat_identities`).
//!
//! May use: `accounts` and `registry` tables in reads (an identity is a user's, an app serves
//! communities).

pub mod wechat_apps;
pub mod wechat_identities;
