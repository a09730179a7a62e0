//! Webhooks for third-party systems (Standard Webhooks): a community's endpoints (`endpoints`),
//! which events go to which (`fanout`, called by the relay's hand-over), signing (`signature`),
//! sending with bounded concurrency to checked addresses only (`sender`), the background worker
//! with its retry schedule (`worker`), and the record of deliveries with retry and replay
//! (`deliveries`).

pub mod deliveries;
pub mod endpoints;
pub mod fanout;
pub mod sender;
pub mod signature;
pub mod worker;
