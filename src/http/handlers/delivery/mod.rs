//! Delivery over HTTP: the inbox (`notifications`), how its items are worded (`texts`), and the
//! live stream with its tickets (`events`).

pub mod events;
pub mod notifications;
pub mod texts;
