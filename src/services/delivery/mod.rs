//! Delivery: every event reaches its people. The relay (`relay`) hands each outbox event to the
//! channels; `audience` finds who an event concerns by the table in `domain::audience`; the
//! inbox (`inbox`) is what a person reads and what their live stream sends: `stream` finds what a
//! stream sends next, `signal` wakes the streams of this process, `listener` hears other
//! instances' hand-overs (PostgreSQL), `tickets` open a stream from a browser; `webhooks` sends
//! events to third-party systems; `wechat` queues, sends and shows WeChat subscription messages.
//!
//! May use: `accounts`, `registry`, `requests`, `visits` and `mobilisation` (an event is about
//! their objects),
//! and `integrations` (WeChat apps and identities);
//! nothing uses delivery but startup, which runs the relay.

pub mod audience;
pub mod inbox;
pub mod listener;
pub mod relay;
pub mod signal;
pub mod stream;
pub mod tickets;
pub mod webhooks;
pub mod wechat;
