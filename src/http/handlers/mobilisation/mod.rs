//! Mobilisation routes: the mobilisations and their lifecycle, the sign-ups.

pub mod mobilisations;
pub mod responses;
pub mod signups;
