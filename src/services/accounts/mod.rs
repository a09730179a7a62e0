//! Accounts: users and their role grants (`users`), signing in and sessions with lockout
//! (`sessions`), and the rule for linking an account to a registry record (`linking`).
//!
//! May use: `domain`, `store::accounts`. Uses no other capability.

pub mod linking;
pub mod sessions;
pub mod users;

pub(crate) use users::may_grant;
