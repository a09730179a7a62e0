//! Delivery over HTTP: the inbox (`notifications`), how its items are worded (`texts`), and
//! what became of WeChat messages (`wechat_messages`).

pub mod notifications;
pub mod texts;
pub mod wechat_messages;
