//! Integrations: how outside systems and clients connect. For now the WeChat apps admins
//! register (`wechat_apps`) and people's WeChat identities (`wechat_identities`), which the
//! delivery of subscription messages and the mini-program sign-in both use; the WeChat server
//! API itself is `crate::wechat`.
//!
//! May use: `accounts` and `registry`. Used by `delivery`.

pub mod wechat_apps;
pub mod wechat_identities;
