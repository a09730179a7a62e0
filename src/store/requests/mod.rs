//! Requests storage: help requests with their events and timers (`help_requests`), their list
//! (`listing`), offers, dispatch candidates, hours.
//!
//! May use: `registry` tables in joins; no other capability's modules.

pub mod candidates;
pub mod help_requests;
pub mod hours;
pub mod listing;
pub mod offers;
