//! Risk grades (分级): computed from care categories, age and the latest assessment by the
//! community's policy, set by hand with a reason, or raised by an urgent finding. Every change
//! is kept with who, when and why, and re-plans the visits of a plan that follows the grade.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::grading::{Assessment, Facts, age_on, grade_for, rank};
use crate::domain::policy::CommunityPolicy;
use crate::domain::text::{Description, Text};
use crate::domain::time_zone::TimeZone;
use crate::domain::visit::{GradeSource, day_start, local_day};
use crate::services::registry::communities::policy_of;
use crate::services::registry::residents::{self, ResidentAccess};
use crate::services::{Page, PageRequest, ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::registry::residents::ResidentRow;
use crate::store::visits::grades::{AssessmentRow, GradeChangeRow, GradeUpdate};
use crate::store::visits::plans::{PlanRow, Replan};
use crate::store::{self, StoreError};

type Reason = Text<500>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentInput {
    pub health: i64,
    pub social_support: i64,
    pub home_safety: i64,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeInput {
    /// A grade of the community's policy, or null for "not graded".
    pub grade: Option<String>,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct GradeView {
    pub resident_id: Uuid,
    pub grade: Option<String>,
    pub source: Option<String>,
    /// How often the grade is visited, by the policy.
    pub every_days: Option<u32>,
    pub changed: bool,
}

#[derive(Debug, Serialize)]
pub struct AssessmentView {
    pub id: Uuid,
    pub resident_id: Uuid,
    pub health: i64,
    pub social_support: i64,
    pub home_safety: i64,
    pub notes: Option<String>,
    pub assessed_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct AssessedView {
    pub assessment: AssessmentView,
    pub grade: GradeView,
}

#[derive(Debug, Serialize)]
pub struct GradeChangeView {
    pub id: Uuid,
    pub resident_id: Uuid,
    pub from_grade: Option<String>,
    pub to_grade: Option<String>,
    pub source: String,
    pub reason: Option<String>,
    pub actor_id: Option<Uuid>,
    pub visit_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

fn assessment_view(a: AssessmentRow) -> AssessmentView {
    AssessmentView {
        id: a.id,
        resident_id: a.resident_id,
        health: a.health,
        social_support: a.social_support,
        home_safety: a.home_safety,
        notes: a.notes,
        assessed_by: a.assessed_by,
        at: a.at,
    }
}

fn change_view(c: GradeChangeRow) -> GradeChangeView {
    GradeChangeView {
        id: c.id,
        resident_id: c.resident_id,
        from_grade: c.from_grade,
        to_grade: c.to_grade,
        source: c.source,
        reason: c.reason,
        actor_id: c.actor_id,
        visit_id: c.visit_id,
        at: c.at,
    }
}

/// The community's policy and time zone.
pub async fn policy_and_zone(
    ctx: &AppState,
    community_id: Uuid,
) -> ServiceResult<(CommunityPolicy, Tz)> {
    let c = store::registry::communities::get(&ctx.db, community_id).await?;
    let tz = TimeZone::parse(&c.time_zone).unwrap_or_default().tz();
    Ok((policy_of(&c), tz))
}

/// The grade the rules give a resident today, with their latest assessment.
pub fn by_rules(
    policy: &CommunityPolicy,
    r: &ResidentRow,
    assessment: Option<&AssessmentRow>,
    today: chrono::NaiveDate,
) -> Option<String> {
    let categories: Vec<&str> = r
        .care_categories
        .split(',')
        .filter(|c| !c.is_empty())
        .collect();
    let assessment =
        assessment.and_then(|a| Assessment::parse(a.health, a.social_support, a.home_safety).ok());
    grade_for(
        &policy.visit,
        &Facts {
            categories: &categories,
            age: r.birth_date.map(|b| age_on(b, today)),
            assessment,
        },
    )
}

/// A new epoch for the resident's active plan if it follows the grade (no frequency of its
/// own): windows counted again from `anchor_on` at the new grade's frequency.
pub fn replan_for(
    policy: &CommunityPolicy,
    plan: Option<&PlanRow>,
    grade: Option<&str>,
    anchor_on: chrono::NaiveDate,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<Replan> {
    let plan = plan.filter(|p| p.active && p.frequency_days.is_none())?;
    let every = grade.and_then(|g| policy.every_days(g));
    Some(Replan {
        plan_id: plan.id,
        anchor_on,
        next_start: every.map(|_| day_start(anchor_on, tz)),
        at: now,
    })
}

/// The grade change a save of the resident record brings, if any: an explicit grade is manual;
/// otherwise the rules decide, except over a manual grade, and never below a raised one.
pub async fn on_record_saved(
    ctx: &AppState,
    p: &Principal,
    before: Option<&ResidentRow>,
    row: &mut ResidentRow,
    explicit: bool,
) -> ServiceResult<Option<GradeUpdate>> {
    let (policy, tz) = policy_and_zone(ctx, row.community_id).await?;
    let now = store::now();
    let (old, source) = match before {
        Some(b) => {
            let (level, source, _) = store::visits::grades::grade_of(&ctx.db, b.id).await?;
            (level, source)
        }
        None => (None, None),
    };
    let (new, source) = if explicit {
        (row.care_level.clone(), GradeSource::Manual)
    } else if source.as_deref() == Some(GradeSource::Manual.as_str()) {
        (old.clone(), GradeSource::Manual)
    } else {
        let last = match before {
            Some(b) => store::visits::grades::last_assessment(&ctx.db, b.id).await?,
            None => None,
        };
        let computed = by_rules(&policy, row, last.as_ref(), local_day(now, tz));
        let raised = source.as_deref() == Some(GradeSource::Finding.as_str());
        let keep_raised = raised
            && match (&old, &computed) {
                (Some(o), Some(c)) => rank(&policy.visit, o) < rank(&policy.visit, c),
                (Some(_), None) => true,
                _ => false,
            };
        if keep_raised {
            (old.clone(), GradeSource::Finding)
        } else {
            (computed, GradeSource::Rules)
        }
    };
    row.care_level = new.clone();
    if before.is_some() && old == new {
        return Ok(None);
    }
    if before.is_none() && new.is_none() {
        return Ok(None);
    }
    let plan = match before {
        Some(b) => store::visits::plans::active_plan(&ctx.db, b.id).await?,
        None => None,
    };
    Ok(Some(GradeUpdate {
        change: GradeChangeRow {
            id: Uuid::now_v7(),
            community_id: row.community_id,
            resident_id: row.id,
            from_grade: old,
            to_grade: new.clone(),
            source: source.as_str().to_string(),
            reason: Some(if explicit {
                "set on the resident record".into()
            } else {
                "care categories or age changed".into()
            }),
            actor_id: Some(p.user_id),
            visit_id: None,
            at: now,
        },
        replan: replan_for(
            &policy,
            plan.as_ref(),
            new.as_deref(),
            local_day(now, tz),
            tz,
            now,
        ),
    }))
}

/// Who may assess or grade: staff, the grid worker of the resident's grid, and (assessments
/// only) a doctor on the resident's care team.
fn may_grade(a: ResidentAccess, manual: bool) -> ServiceResult<()> {
    match a {
        ResidentAccess::Staff | ResidentAccess::GridWorker => Ok(()),
        ResidentAccess::CareTeam if !manual => Ok(()),
        _ => Err(ServiceError::Forbidden("forbidden")),
    }
}

/// 评估: the grid worker's assessment; the grade follows the rules with it, replacing any
/// manual or raised grade (the assessment is the fresh judgement).
pub async fn assess(
    ctx: &AppState,
    p: &Principal,
    resident_id: Uuid,
    input: AssessmentInput,
) -> ServiceResult<AssessedView> {
    let (r, access) = residents::load_for(ctx, p, resident_id).await?;
    may_grade(access, false)?;
    let mut f = Fields::new();
    let dims = [
        ("health", input.health),
        ("social_support", input.social_support),
        ("home_safety", input.home_safety),
    ];
    for (name, v) in dims {
        if !(0..=3).contains(&v) {
            f.push(name, "out_of_range");
        }
    }
    let notes = f.check_opt("notes", input.notes.as_deref(), Description::parse);
    if !f.is_empty() {
        return Err(ServiceError::Validation(f.into_errors()));
    }
    let now = store::now();
    let a = AssessmentRow {
        id: Uuid::now_v7(),
        community_id: r.community_id,
        resident_id: r.id,
        health: input.health,
        social_support: input.social_support,
        home_safety: input.home_safety,
        notes: notes.flatten().map(|n| n.into_inner()),
        assessed_by: Some(p.user_id),
        at: now,
    };
    let (policy, tz) = policy_and_zone(ctx, r.community_id).await?;
    let grade = by_rules(&policy, &r, Some(&a), local_day(now, tz));
    let g = apply(
        ctx,
        p,
        &r,
        grade,
        GradeSource::Assessment,
        Some("assessment".into()),
        Some(&a),
    )
    .await?;
    Ok(AssessedView {
        assessment: assessment_view(a),
        grade: g,
    })
}

/// A grade set by hand, with the reason; it holds until the next assessment.
pub async fn set(
    ctx: &AppState,
    p: &Principal,
    resident_id: Uuid,
    input: GradeInput,
) -> ServiceResult<GradeView> {
    let (r, access) = residents::load_for(ctx, p, resident_id).await?;
    may_grade(access, true)?;
    let (policy, _) = policy_and_zone(ctx, r.community_id).await?;
    let mut f = Fields::new();
    if input.grade.as_ref().is_some_and(|g| !policy.has_grade(g)) {
        f.push("grade", "unknown_grade");
    }
    let reason = f.check("reason", Reason::parse(&input.reason));
    if !f.is_empty() {
        return Err(ServiceError::Validation(f.into_errors()));
    }
    apply(
        ctx,
        p,
        &r,
        input.grade,
        GradeSource::Manual,
        reason.map(|r| r.into_inner()),
        None,
    )
    .await
}

async fn apply(
    ctx: &AppState,
    p: &Principal,
    r: &ResidentRow,
    grade: Option<String>,
    source: GradeSource,
    reason: Option<String>,
    assessment: Option<&AssessmentRow>,
) -> ServiceResult<GradeView> {
    let (policy, tz) = policy_and_zone(ctx, r.community_id).await?;
    let (old, _, version) = store::visits::grades::grade_of(&ctx.db, r.id).await?;
    let now = store::now();
    let changed = old != grade;
    let plan = store::visits::plans::active_plan(&ctx.db, r.id).await?;
    let replan = if changed {
        replan_for(
            &policy,
            plan.as_ref(),
            grade.as_deref(),
            local_day(now, tz),
            tz,
            now,
        )
    } else {
        None
    };
    let update = GradeUpdate {
        change: GradeChangeRow {
            id: Uuid::now_v7(),
            community_id: r.community_id,
            resident_id: r.id,
            from_grade: old,
            to_grade: grade.clone(),
            source: source.as_str().to_string(),
            reason,
            actor_id: Some(p.user_id),
            visit_id: None,
            at: now,
        },
        replan,
    };
    match store::visits::grades::change_grade(&ctx.db, &update, version, assessment).await {
        Ok(()) => {}
        Err(StoreError::StaleVersion) => return Err(ServiceError::Conflict("state_changed")),
        Err(e) => return Err(e.into()),
    }
    if update.replan.is_some() {
        // The plan's new windows at once (the job would make them too).
        crate::services::visits::generation::generate_or_log(ctx, r.community_id).await;
    }
    Ok(GradeView {
        resident_id: r.id,
        every_days: grade.as_deref().and_then(|g| policy.every_days(g)),
        grade,
        source: Some(source.as_str().to_string()),
        changed,
    })
}

/// The resident's current grade.
pub async fn current(ctx: &AppState, p: &Principal, resident_id: Uuid) -> ServiceResult<GradeView> {
    let (r, _) = residents::load_for(ctx, p, resident_id).await?;
    let (policy, _) = policy_and_zone(ctx, r.community_id).await?;
    let (grade, source, _) = store::visits::grades::grade_of(&ctx.db, r.id).await?;
    Ok(GradeView {
        resident_id: r.id,
        every_days: grade.as_deref().and_then(|g| policy.every_days(g)),
        grade,
        source,
        changed: false,
    })
}

/// Grade changes, newest first; readers are those who may see the resident's visits.
pub async fn history(
    ctx: &AppState,
    p: &Principal,
    resident_id: Uuid,
    page: PageRequest,
) -> ServiceResult<Page<GradeChangeView>> {
    let (r, access) = residents::load_for(ctx, p, resident_id).await?;
    if access == ResidentAccess::Own {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let rows =
        store::visits::grades::grade_changes(&ctx.db, r.id, page.after, page.fetch_limit()).await?;
    Ok(page.page(rows, |c| c.id, change_view))
}

pub async fn assessments(
    ctx: &AppState,
    p: &Principal,
    resident_id: Uuid,
    page: PageRequest,
) -> ServiceResult<Page<AssessmentView>> {
    let (r, access) = residents::load_for(ctx, p, resident_id).await?;
    if access == ResidentAccess::Own {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let rows =
        store::visits::grades::assessments(&ctx.db, r.id, page.after, page.fetch_limit()).await?;
    Ok(page.page(rows, |a| a.id, assessment_view))
}
