//! Visits routes: grades, assessments, plans, visits, coverage.

pub mod plans;
pub mod tables;
#[allow(
    clippy::module_inception,
    reason = "the visits themselves: one concern of the capability beside its plans, grades and generation"
)]
pub mod visits;
