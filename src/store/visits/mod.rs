//! Visits storage: grades and assessments, visit plans, visits and their generation, coverage.
//!
//! May use: `requests` (needs found on a visit are placed as help requests in its transaction).

pub mod coverage;
pub mod visits;
