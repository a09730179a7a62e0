//! Registry storage: communities, grids, teams, service types, residents, volunteers.
//!
//! May use: `accounts` (a linked account is granted its role in the same transaction).
//! Writes that other capabilities add to a resident's save arrive as [`crate::store::TxWrites`].

pub mod communities;
pub mod grids;
pub mod invitations;
pub mod residents;
pub mod service_types;
pub(crate) mod shared;
pub mod teams;
pub mod volunteers;
