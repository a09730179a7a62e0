//! Visits storage: visit plans with their care teams, grades and assessments, visits, their
//! generation and missed windows, coverage.
//!
//! May use: `requests` (needs found on a visit are placed as help requests in its transaction).

pub mod coverage;
pub mod generation;
pub mod grades;
pub mod plans;
#[allow(
    clippy::module_inception,
    reason = "the visits themselves: one concern of the capability beside its plans, grades and generation"
)]
pub mod visits;

use crate::domain::visit::{Action, BulkMove, bulk_move};
use crate::store::{StoreError, StoreResult};

/// The lifecycle's move of many visits at once (`Miss`, `Cancel`): the statements bind its
/// states, so that the table in `domain::visit` stays their one source.
fn bulk(action: Action) -> StoreResult<BulkMove> {
    bulk_move(action).map_err(StoreError::Guard)
}
