//! Huying (呼应): the backend of a community service station.
//!
//! Layers, inward: `http` (thin handlers) → `services` (the rules) → `domain` (validated
//! types) → `store` (SQL, on SQLite or PostgreSQL).

pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod demo_activities;
pub mod demo_deliberation;
pub mod demo_mediation;
pub mod demo_notices;
pub mod domain;
pub mod http;
pub mod rate_limit;
pub mod services;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod wechat;
