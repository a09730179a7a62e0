//! Integrations over HTTP: WeChat apps (`wechat_apps`, admins only), people's WeChat
//! identities (`wechat_identities`) and the mini-program sign-in (`wechat_login`).

pub mod wechat_apps;
pub mod wechat_identities;
pub mod wechat_login;
