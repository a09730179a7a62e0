//! Requests storage: help requests with their events and timers (`help_requests`, their rows in
//! `rows`), their list and timeline (`listing`), offers, dispatch candidates (and whom a
//! resident rated well before), hours.
//!
//! May use: `registry` tables in joins; no other capability's modules.

pub mod candidates;
pub mod help_requests;
pub mod hours;
pub mod listing;
pub mod offers;
pub mod rows;
