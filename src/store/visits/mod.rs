//! Visits storage: visit plans with their care teams, grades and assessments, visits, their
//! generation and missed windows, coverage.
//!
//! May use: `requests` (needs found on a visit are placed as help requests in its transaction).

pub mod coverage;
pub mod generation;
pub mod grades;
pub mod plans;
pub mod visits;
