//! Mobilisation routes: the mobilisations and their lifecycle, the sign-ups.

pub mod attendance;
pub mod mobilisations;
pub mod responses;
pub mod signups;
