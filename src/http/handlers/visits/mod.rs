//! Visits routes: grades, assessments, plans, visits, coverage.

pub mod plans;
pub mod visits;
