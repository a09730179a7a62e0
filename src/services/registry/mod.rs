//! Registry: the community's standing records — communities, grids, teams, service types,
//! residents and volunteers — and who may see and change them.
//!
//! May use: `accounts` (users and their grants), `domain`, `store`. Uses no other capability:
//! what a resident record means to visits (grades, care teams) reaches it through
//! [`residents::ResidentHooks`], registered at startup.

pub mod communities;
pub mod exclusions;
pub mod grids;
pub mod invitations;
pub mod me;
pub mod resident_hooks;
pub mod resident_input;
pub mod residents;
pub mod service_types;
mod shared;
pub mod teams;
pub mod volunteers;
