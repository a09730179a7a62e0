//! Integrations storage: WeChat apps (`wechat_apps`), people's WeChat identities
//! (`wechat_identities`) and integration clients (`clients`).
//!
//! May use: `accounts` and `registry` tables in reads (an identity is a user's, an app serves
//! communities); `clients` also writes the `users` row and role each client stands on.

pub mod clients;
pub mod wechat_apps;
pub mod wechat_identities;
