//! Integrations: how outside systems and clients connect. The WeChat apps admins register
//! (`wechat_apps`) and people's WeChat identities (`wechat_identities`), which the delivery of
//! subscription messages and the mini-program sign-in (`wechat_login`) both use (the WeChat
//! server API itself is `crate::wechat`); third-party integration clients with scopes
//! (`clients`) and their OAuth 2.0 token endpoint (`oauth`).
//!
//! May use: `accounts` and `registry`. Used by `delivery`.

pub mod clients;
pub mod oauth;
pub mod wechat_apps;
pub mod wechat_identities;
pub mod wechat_login;
