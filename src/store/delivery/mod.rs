//! Delivery storage: the outbox as the relay reads it (`outbox`), who an event concerns
//! (`audience`), the inbox (`notifications`), and the queue of WeChat subscription messages
//! (`wechat_messages`).
//!
//! May use: every other capability's tables in reads (an event's audience is found through the
//! objects it is about); it writes only its own tables and the outbox's relay columns.

pub mod audience;
pub mod notifications;
pub mod outbox;
pub mod wechat_messages;
