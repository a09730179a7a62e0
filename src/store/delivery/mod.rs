//! Delivery storage: the outbox as the relay reads it (`outbox`), who an event concerns
//! (`audience`), the inbox (`notifications`), the PostgreSQL channel announcing new inbox items
//! (`inbox_channel`), the live stream's tickets (`tickets`), a community's webhooks (`webhooks`)
//! and their queue of deliveries with every attempt (`webhook_deliveries`), and the queue of
//! WeChat subscription messages (`wechat_messages`).
//!
//! May use: every other capability's tables in reads (an event's audience is found through the
//! objects it is about); it writes only its own tables and the outbox's relay columns.

pub mod audience;
pub mod inbox_channel;
pub mod notifications;
pub mod outbox;
pub mod tickets;
pub mod webhook_deliveries;
pub mod webhooks;
pub mod wechat_messages;
