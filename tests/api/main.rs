//! Black-box tests over HTTP against a server on port 0, on SQLite by default and on
//! PostgreSQL when `TEST_DATABASE_URL` is set. Every response is validated against
//! `openapi.yaml`.

mod help_requests;
mod helpers;
mod linking;
mod notifications;
mod spec;

mod accounts;
mod authorization;
mod certificates;
mod client_scopes;
mod clients;
mod communities;
mod contract;
mod conventions;
mod demo;
mod dispatch;
mod event_stream;
mod faults;
mod generation;
mod http_details;
mod idempotency;
mod logging;
mod mobilisations;
mod oauth_token;
mod open311;
mod open311_triage;
mod outage;
mod password_hashing;
mod registry;
mod residents;
mod schema;
mod sigkill;
mod startup;
mod text_input;
mod timers_shared;
mod visits;
mod volunteers;
mod webhook_deliveries;
mod webhook_receiver;
mod webhooks;
mod wechat_apps;
mod wechat_login;
mod wechat_messages;
mod wechat_stand_in;
