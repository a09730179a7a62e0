//! Authentication: who is calling, and what their roles allow in which community.

pub mod jwt;
pub mod password;
pub mod principal;

pub use jwt::JwtKeys;
pub use principal::{Grant, Principal};
