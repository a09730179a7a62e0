//! Accounts routes: sign-in, sessions, the caller, users and grants.

pub mod auth;
pub mod users;
