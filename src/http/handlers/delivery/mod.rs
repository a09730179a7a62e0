//! Delivery over HTTP: the inbox (`notifications`), the live
//! stream with its tickets (`events`), a community's webhooks with their deliveries (`webhooks`),
//! and what became of WeChat messages (`wechat_messages`).

pub mod events;
pub mod notifications;
pub mod webhooks;
pub mod wechat_messages;
