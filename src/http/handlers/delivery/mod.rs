//! Delivery over HTTP: the inbox (`notifications`) and how its items are worded (`texts`).

pub mod notifications;
pub mod texts;
