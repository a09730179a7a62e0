//! Accounts storage: users and their grants, refresh tokens, login throttling.
//!
//! May use: the storage root only.

pub mod throttle;
pub mod tokens;
pub mod users;
