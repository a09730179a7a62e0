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
pub mod visits;
