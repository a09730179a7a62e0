//! Grades and their history, and assessments: a grade change is written with the re-plan it
//! causes, inside the transaction of whatever brought it (an assessment, a hand, a finding on
//! a visit, a saved resident record).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::plans::{PlanExec, Replan};
use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GradeChangeRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    pub from_grade: Option<String>,
    pub to_grade: Option<String>,
    pub source: String,
    pub reason: Option<String>,
    pub actor_id: Option<Uuid>,
    pub visit_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssessmentRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    pub health: i64,
    pub social_support: i64,
    pub home_safety: i64,
    pub notes: Option<String>,
    pub assessed_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// The grade a resident moves to, with its history row; `replan` starts the plan that
/// follows the grade afresh.
#[derive(Debug, Clone)]
pub struct GradeUpdate {
    pub change: GradeChangeRow,
    pub replan: Option<Replan>,
}

const SET_GRADE: &str = "update residents set care_level = $2, grade_source = $3,
    version = version + 1, updated_at = $4 where id = $1";
const SET_GRADE_GUARDED: &str = "update residents set care_level = $2, grade_source = $3,
    version = version + 1, updated_at = $4 where id = $1 and version = $5";
const INSERT_GRADE: &str = "insert into grade_changes (id, community_id, resident_id, from_grade,
    to_grade, source, reason, actor_id, visit_id, at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const GRADE_OF: &str = "select care_level, grade_source, version from residents where id = $1";
const GRADES: &str = "select id, community_id, resident_id, from_grade, to_grade, source, reason,
    actor_id, visit_id, at from grade_changes where resident_id = $1 and ($2 is null or id < $2)
    order by id desc limit $3";
const INSERT_ASSESSMENT: &str = "insert into assessments (id, community_id, resident_id, health,
    social_support, home_safety, notes, assessed_by, at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const ASSESSMENTS: &str =
    "select id, community_id, resident_id, health, social_support, home_safety,
    notes, assessed_by, at from assessments where resident_id = $1 and ($2 is null or id < $2)
    order by id desc limit $3";
const LAST_ASSESSMENT: &str = "select id, community_id, resident_id, health, social_support,
    home_safety, notes, assessed_by, at from assessments where resident_id = $1 order by id desc limit 1";

/// The grade change written inside another use case's transaction, for both backends.
pub(crate) trait GradeExec {
    async fn grade(&mut self, g: &GradeUpdate, resident_version: Option<i64>) -> StoreResult<()>;
}

macro_rules! impl_grade_exec {
    ($conn:ty) => {
        impl GradeExec for $conn {
            async fn grade(
                &mut self,
                g: &GradeUpdate,
                resident_version: Option<i64>,
            ) -> StoreResult<()> {
                let c = &g.change;
                // The plan row first: it waits for a generation run holding it, and the
                // cancellation below then sees that run's visits.
                if let Some(r) = &g.replan {
                    self.replan(r).await?;
                }
                let n = match resident_version {
                    Some(v) => sqlx::query(SET_GRADE_GUARDED)
                        .bind(c.resident_id)
                        .bind(&c.to_grade)
                        .bind(&c.source)
                        .bind(c.at)
                        .bind(v)
                        .execute(&mut *self)
                        .await?
                        .rows_affected(),
                    None => sqlx::query(SET_GRADE)
                        .bind(c.resident_id)
                        .bind(&c.to_grade)
                        .bind(&c.source)
                        .bind(c.at)
                        .execute(&mut *self)
                        .await?
                        .rows_affected(),
                };
                if n == 0 {
                    return Err(StoreError::StaleVersion);
                }
                if c.from_grade != c.to_grade {
                    sqlx::query(INSERT_GRADE)
                        .bind(c.id)
                        .bind(c.community_id)
                        .bind(c.resident_id)
                        .bind(&c.from_grade)
                        .bind(&c.to_grade)
                        .bind(&c.source)
                        .bind(&c.reason)
                        .bind(c.actor_id)
                        .bind(c.visit_id)
                        .bind(c.at)
                        .execute(&mut *self)
                        .await?;
                }
                Ok(())
            }
        }
    };
}
impl_grade_exec!(sqlx::SqliteConnection);
impl_grade_exec!(sqlx::PgConnection);

/// A grade change on its own (an assessment or a manual grade), guarded by the resident's
/// version, with the assessment that caused it.
pub async fn change_grade(
    db: &Db,
    g: &GradeUpdate,
    resident_version: i64,
    assessment: Option<&AssessmentRow>,
) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("resident", g.change.resident_id);
        if let Some(a) = assessment {
            sqlx::query(INSERT_ASSESSMENT).bind(a.id).bind(a.community_id).bind(a.resident_id)
                .bind(a.health).bind(a.social_support).bind(a.home_safety).bind(&a.notes)
                .bind(a.assessed_by).bind(a.at).execute(&mut *tx).await?;
        }
        tx.grade(g, Some(resident_version)).await?;
        tx.commit().await?;
        Ok(())
    })
}

pub async fn grade_of(
    db: &Db,
    resident_id: Uuid,
) -> StoreResult<(Option<String>, Option<String>, i64)> {
    Ok(on_db!(db, pool => sqlx::query_as(GRADE_OF).bind(resident_id).fetch_one(pool).await)?)
}

pub async fn grade_changes(
    db: &Db,
    resident_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<GradeChangeRow>> {
    Ok(
        on_db!(db, pool => sqlx::query_as(GRADES).bind(resident_id).bind(after).bind(limit)
        .fetch_all(pool).await)?,
    )
}

pub async fn assessments(
    db: &Db,
    resident_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<AssessmentRow>> {
    Ok(
        on_db!(db, pool => sqlx::query_as(ASSESSMENTS).bind(resident_id).bind(after).bind(limit)
        .fetch_all(pool).await)?,
    )
}

pub async fn last_assessment(db: &Db, resident_id: Uuid) -> StoreResult<Option<AssessmentRow>> {
    Ok(
        on_db!(db, pool => sqlx::query_as(LAST_ASSESSMENT).bind(resident_id)
        .fetch_optional(pool).await)?,
    )
}
