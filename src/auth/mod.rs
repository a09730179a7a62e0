//! Authentication: who is calling, and what their roles allow in which community.

pub mod hashing;
pub mod jwt;
pub mod password;
pub mod principal;

pub use hashing::{HashingError, PasswordHashing};
pub use jwt::JwtKeys;
pub use principal::{Grant, Principal};
