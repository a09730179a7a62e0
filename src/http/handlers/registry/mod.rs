//! Registry routes: communities, grids, teams, service types, residents, volunteers.

pub mod communities;
pub mod grids;
pub mod invitations;
pub mod residents;
pub mod service_types;
pub mod teams;
pub mod volunteers;
