//! Integrations over HTTP: WeChat apps (`wechat_apps`, admins only) and people's WeChat
//! identities (`wechat_identities`).

pub mod wechat_apps;
pub mod wechat_identities;
