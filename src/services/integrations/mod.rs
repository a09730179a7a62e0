//! Integrations: how outside systems and clients connect. For now the WeChat apps admins
//! register (`wechat_apps`), people's WeChat identities (`wechat_identities`), which the
//! delivery of subscription messages uses, and the mini-program sign-in that binds them
//! (`wechat_login`); the WeChat server API itself is `crate::wechat`.
//!
//! May use: `accounts` and `registry`. Used by `delivery`.

pub mod wechat_apps;
pub mod wechat_identities;
pub mod wechat_login;
