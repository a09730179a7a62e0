//! Visits (未呼先应): risk grading, visit plans with care teams, the generation of visits,
//! visits with the needs found on them, and coverage.
//!
//! May use: `requests` (needs become help requests), `registry`, `accounts`, `domain`, `store`.

mod access;
pub mod completion;
pub mod coverage;
pub mod generation;
pub mod grading;
pub mod plans;
pub mod records;
#[allow(
    clippy::module_inception,
    reason = "the visits themselves: one concern of the capability beside its plans, grades and generation"
)]
pub mod visits;
