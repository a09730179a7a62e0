//! Requests routes: help requests, offers, reports.

pub mod help_requests;
pub mod tables;
