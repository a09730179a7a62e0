//! Integrations over HTTP: WeChat apps (`wechat_apps`, admins only), people's WeChat identities
//! (`wechat_identities`), the mini-program sign-in (`wechat_login`), integration clients
//! (`clients`) and their token endpoint (`oauth`).

pub mod clients;
pub mod oauth;
pub mod wechat_apps;
pub mod wechat_identities;
pub mod wechat_login;
