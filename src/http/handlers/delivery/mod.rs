//! Delivery over HTTP: the inbox (`notifications`), how its items are worded (`texts`), and a
//! community's webhooks with their deliveries (`webhooks`).

pub mod notifications;
pub mod texts;
pub mod webhooks;
