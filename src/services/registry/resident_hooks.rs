//! What a resident record means to the capabilities above the registry, asked through one
//! trait that startup fills in, so that the registry depends on none of them (visits answer:
//! a doctor's care teams, the grade a save brings, the open visits that follow a move).

use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::auth::Principal;
use crate::services::ServiceResult;
use crate::state::AppState;
use crate::store::TxWrites;
use crate::store::registry::residents::ResidentRow;

/// How a save treats the resident's grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradeOnSave {
    /// The rules decide from the record (categories, age), as they would on their own.
    Rules,
    /// The record names a grade: it is set by hand.
    Explicit,
    /// Leave the grade alone (a deactivation).
    Keep,
}

/// The writes a save carries for other capabilities, and what they do once it committed.
pub trait ResidentSave: TxWrites {
    fn after<'a>(&'a self, ctx: &'a AppState) -> BoxFuture<'a, ()>;
}

pub trait ResidentHooks: Send + Sync {
    /// Residents this user looks after outside the grids (a doctor on their care teams).
    fn cared_for<'a>(
        &'a self,
        ctx: &'a AppState,
        community_id: Uuid,
        user_id: Uuid,
    ) -> BoxFuture<'a, ServiceResult<Vec<Uuid>>>;

    /// Before a save (`before` is None for a new record): may set the record's grade, and
    /// returns what the save writes with it.
    fn saving<'a>(
        &'a self,
        ctx: &'a AppState,
        p: &'a Principal,
        before: Option<&'a ResidentRow>,
        row: &'a mut ResidentRow,
        grade: GradeOnSave,
    ) -> BoxFuture<'a, ServiceResult<Box<dyn ResidentSave>>>;
}
