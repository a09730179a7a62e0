//! Requests storage: help requests with their events and timers, dispatch candidates, hours.
//!
//! May use: `registry` tables in joins; no other capability's modules.

pub mod candidates;
pub mod help_requests;
pub mod hours;
