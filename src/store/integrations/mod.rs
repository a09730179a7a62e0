//! Integrations storage: WeChat apps (`wechat_apps`), people's WeChat identities
//! (`wechat_identities`), the mini-program sign-in (`wechat_login`: binding tickets, and the
//! bind that may create a resident's account) and integration clients (`clients`).
//!
//! May use: `accounts` and `registry` tables in reads (an identity is a user's, an app serves
//! communities); `wechat_login::bind` also writes a new resident's user, grant and link, and the
//! audit log, in its one transaction; `clients` also writes the `users` row and role each client
//! stands on.

pub mod clients;
pub mod wechat_apps;
pub mod wechat_identities;
pub mod wechat_login;
