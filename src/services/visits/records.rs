//! The registry's resident records as visits see them (registered with the registry at
//! startup): a doctor's care teams, the grade a save brings with the re-plan it causes, and the
//! open visits that follow a resident to another grid or end with them.

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::auth::Principal;
use crate::services::ServiceResult;
use crate::services::registry::resident_hooks::{GradeOnSave, ResidentHooks, ResidentSave};
use crate::state::AppState;
use crate::store::registry::residents::ResidentRow;
use crate::store::visits::grades::{GradeExec, GradeUpdate};
use crate::store::visits::visits::VisitExec;
use crate::store::{self, StoreResult, TxWrites};

pub struct VisitsOnResidents;

struct Writes {
    community_id: Uuid,
    grade: Option<GradeUpdate>,
    /// An existing record: its open visits follow it (grid, active).
    follow: Option<(Uuid, Option<Uuid>, bool, DateTime<Utc>)>,
}

impl Writes {
    async fn apply<C: VisitExec + GradeExec>(&self, conn: &mut C) -> StoreResult<()> {
        if let Some(g) = &self.grade {
            conn.grade(g, None).await?;
        }
        if let Some((id, grid, active, at)) = self.follow {
            conn.resident_saved(id, grid, active, at).await?;
        }
        Ok(())
    }
}

impl TxWrites for Writes {
    fn on_sqlite<'c>(
        &'c self,
        conn: &'c mut sqlx::SqliteConnection,
    ) -> BoxFuture<'c, StoreResult<()>> {
        Box::pin(self.apply(conn))
    }
    fn on_postgres<'c>(
        &'c self,
        conn: &'c mut sqlx::PgConnection,
    ) -> BoxFuture<'c, StoreResult<()>> {
        Box::pin(self.apply(conn))
    }
}

impl ResidentSave for Writes {
    fn after<'a>(&'a self, ctx: &'a AppState) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if self.grade.as_ref().is_some_and(|g| g.replan.is_some()) {
                // The plan's new windows at once (the job would make them too).
                super::generation::generate_or_log(ctx, self.community_id).await;
            }
        })
    }
}

impl ResidentHooks for VisitsOnResidents {
    fn cared_for<'a>(
        &'a self,
        ctx: &'a AppState,
        community_id: Uuid,
        user_id: Uuid,
    ) -> BoxFuture<'a, ServiceResult<Vec<Uuid>>> {
        Box::pin(async move {
            Ok(store::visits::plans::team_residents(&ctx.db, community_id, user_id).await?)
        })
    }

    fn saving<'a>(
        &'a self,
        ctx: &'a AppState,
        p: &'a Principal,
        before: Option<&'a ResidentRow>,
        row: &'a mut ResidentRow,
        grade: GradeOnSave,
    ) -> BoxFuture<'a, ServiceResult<Box<dyn ResidentSave>>> {
        Box::pin(async move {
            let grade = match grade {
                GradeOnSave::Keep => None,
                GradeOnSave::Rules => {
                    super::grading::on_record_saved(ctx, p, before, row, false).await?
                }
                GradeOnSave::Explicit => {
                    super::grading::on_record_saved(ctx, p, before, row, true).await?
                }
            };
            Ok(Box::new(Writes {
                community_id: row.community_id,
                grade,
                follow: before.map(|_| (row.id, row.grid_id, row.active, store::now())),
            }) as Box<dyn ResidentSave>)
        })
    }
}
