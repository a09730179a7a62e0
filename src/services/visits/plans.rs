//! Visit plans (走访计划): a resident's care team, contact kinds and frequency, and what
//! changing them does to the visits not yet made.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::role::Role;
use crate::domain::text::Description;
use crate::domain::visit::{ContactKind, TeamRole, day_start, local_day};
use crate::services::registry::communities::deny;
use crate::services::registry::residents::{self, ResidentAccess};
use crate::services::visits::generation::generate_or_log;
use crate::services::visits::grading::policy_and_zone;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, field_error, patch};
use crate::state::AppState;
use crate::store::visits::plans::{MemberRow, PlanFilter, PlanRow, Replan};
use crate::store::{self, StoreError};

const MAX_TEAM: usize = 10;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    pub user_id: Uuid,
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub resident_id: Uuid,
    pub team: Vec<MemberInput>,
    #[serde(default = "home_visit")]
    pub contact_kinds: Vec<String>,
    /// Overrides the frequency of the resident's grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

fn home_visit() -> Vec<String> {
    vec![ContactKind::HomeVisit.as_str().to_string()]
}

#[derive(Debug, Serialize)]
pub struct MemberView {
    pub user_id: Uuid,
    pub role: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct PlanView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    pub team: Vec<MemberView>,
    pub contact_kinds: Vec<String>,
    pub frequency_days: Option<i64>,
    /// The frequency in force: the plan's own, or its resident's grade's.
    pub every_days: Option<u32>,
    pub grade: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub notes: Option<String>,
    pub active: bool,
    pub epoch: i64,
    /// When the next window not yet generated starts.
    pub next_window_start: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
pub struct PlanQuery {
    pub resident_id: Option<Uuid>,
    pub grid_id: Option<Uuid>,
    pub member_id: Option<Uuid>,
    pub active: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub(super) fn kinds_of(csv: &str) -> Vec<String> {
    csv.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

async fn plan_view(ctx: &AppState, p: PlanRow) -> ServiceResult<PlanView> {
    let team = store::visits::plans::members(&ctx.db, p.id).await?;
    let (policy, _) = policy_and_zone(ctx, p.community_id).await?;
    let (grade, _, _) = store::visits::grades::grade_of(&ctx.db, p.resident_id).await?;
    let every = p
        .frequency_days
        .map(|f| f as u32)
        .or_else(|| grade.as_deref().and_then(|g| policy.every_days(g)));
    Ok(PlanView {
        id: p.id,
        community_id: p.community_id,
        resident_id: p.resident_id,
        team: team
            .into_iter()
            .map(|m: MemberRow| MemberView {
                user_id: m.user_id,
                role: m.role,
                name: m.display_name,
            })
            .collect(),
        contact_kinds: kinds_of(&p.contact_kinds),
        frequency_days: p.frequency_days,
        every_days: every,
        grade,
        starts_on: p.starts_on,
        ends_on: p.ends_on,
        notes: p.notes,
        active: p.active,
        epoch: p.epoch,
        next_window_start: p.next_start,
        version: p.version,
        created_at: p.created_at,
        updated_at: p.updated_at,
    })
}

/// Checks a team: known users holding the role they are given in this community.
async fn check_team(
    ctx: &AppState,
    community_id: Uuid,
    team: &[MemberInput],
    f: &mut Fields,
) -> ServiceResult<Vec<(Uuid, String)>> {
    if team.is_empty() || team.len() > MAX_TEAM {
        f.push("team", "out_of_range");
        return Ok(Vec::new());
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, m) in team.iter().enumerate() {
        let Some(role) = f.check(&format!("team[{i}].role"), TeamRole::parse(&m.role)) else {
            continue;
        };
        if !seen.insert(m.user_id) {
            f.push(format!("team[{i}].user_id"), "duplicate");
            continue;
        }
        let grants = store::accounts::users::grants(&ctx.db, m.user_id).await?;
        let holds = |r: Role| {
            grants
                .iter()
                .any(|g| g.role == r.as_str() && g.community_id == Some(community_id))
        };
        if grants.iter().all(|g| g.community_id != Some(community_id)) {
            f.push(format!("team[{i}].user_id"), "unknown_reference");
            continue;
        }
        let fits = match role {
            TeamRole::GridWorker => holds(Role::GridWorker),
            TeamRole::Doctor => holds(Role::Doctor),
            TeamRole::Volunteer => holds(Role::Volunteer),
            TeamRole::PartyVolunteer => {
                match store::requests::candidates::volunteer_of_user(
                    &ctx.db,
                    m.user_id,
                    community_id,
                )
                .await?
                {
                    Some(v) => {
                        store::registry::volunteers::get(&ctx.db, v)
                            .await?
                            .party_member
                    }
                    None => false,
                }
            }
        };
        if !fits {
            f.push(format!("team[{i}].role"), "role_mismatch");
            continue;
        }
        out.push((m.user_id, role.as_str().to_string()));
    }
    Ok(out)
}

struct CheckedPlan {
    team: Vec<(Uuid, String)>,
    kinds: String,
    frequency: Option<i64>,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
    notes: Option<String>,
}

async fn check_plan(
    ctx: &AppState,
    community_id: Uuid,
    i: &PlanInput,
    today: NaiveDate,
    grade_every: Option<u32>,
) -> ServiceResult<CheckedPlan> {
    let mut f = Fields::new();
    let team = check_team(ctx, community_id, &i.team, &mut f).await?;
    let mut kinds = Vec::new();
    if i.contact_kinds.is_empty() || i.contact_kinds.len() > 4 {
        f.push("contact_kinds", "out_of_range");
    }
    for (n, k) in i.contact_kinds.iter().enumerate() {
        if let Some(k) = f.check(&format!("contact_kinds[{n}]"), ContactKind::parse(k)) {
            kinds.push(k.as_str());
        }
    }
    if i.frequency_days.is_some_and(|d| !(1..=366).contains(&d)) {
        f.push("frequency_days", "out_of_range");
    }
    if i.frequency_days.is_none() && grade_every.is_none() {
        // Neither the plan nor a grade says how often.
        f.push("frequency_days", "required");
    }
    let starts_on = i.starts_on.unwrap_or(today);
    if !(2000..2100).contains(&chrono::Datelike::year(&starts_on)) {
        f.push("starts_on", "out_of_range");
    }
    if let Some(e) = i.ends_on {
        if e < starts_on {
            f.push("ends_on", "before_start");
        } else if e < today {
            f.push("ends_on", "in_the_past");
        } else if !(2000..2100).contains(&chrono::Datelike::year(&e)) {
            f.push("ends_on", "out_of_range");
        }
    }
    let notes = f.check_opt("notes", i.notes.as_deref(), Description::parse);
    if !f.is_empty() {
        return Err(ServiceError::Validation(f.into_errors()));
    }
    Ok(CheckedPlan {
        team,
        kinds: kinds.join(","),
        frequency: i.frequency_days,
        starts_on,
        ends_on: i.ends_on,
        notes: notes.flatten().map(|n| n.into_inner()),
    })
}

/// A plan's first window starts on its first day, or today for a plan dated in the past.
fn anchor(starts_on: NaiveDate, today: NaiveDate) -> NaiveDate {
    starts_on.max(today)
}

/// Staff, or the grid worker of the resident's grid, make and change plans.
fn may_plan(a: ResidentAccess) -> ServiceResult<()> {
    match a {
        ResidentAccess::Staff | ResidentAccess::GridWorker => Ok(()),
        _ => Err(ServiceError::Forbidden("forbidden")),
    }
}

pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: PlanInput,
) -> ServiceResult<PlanView> {
    crate::services::registry::communities::visible(ctx, p, community_id).await?;
    if !p.is_staff(community_id) && !p.has(Role::GridWorker, community_id) {
        return Err(deny(p, community_id));
    }
    // A resident of another community, or one the caller may not see, is not a reference.
    let (r, access) = match residents::load_for(ctx, p, input.resident_id).await {
        Ok((r, a)) if r.community_id == community_id && r.active => (r, a),
        Ok(_) | Err(ServiceError::NotFound) => {
            return Err(field_error("resident_id", "unknown_reference"));
        }
        Err(e) => return Err(e),
    };
    may_plan(access)?;
    let (policy, tz) = policy_and_zone(ctx, community_id).await?;
    let (grade, _, _) = store::visits::grades::grade_of(&ctx.db, r.id).await?;
    let now = store::now();
    let today = local_day(now, tz);
    let grade_every = grade.as_deref().and_then(|g| policy.every_days(g));
    let c = check_plan(ctx, community_id, &input, today, grade_every).await?;
    let anchor_on = anchor(c.starts_on, today);
    let row = PlanRow {
        id: Uuid::now_v7(),
        community_id,
        resident_id: r.id,
        frequency_days: c.frequency,
        contact_kinds: c.kinds,
        starts_on: c.starts_on,
        ends_on: c.ends_on,
        notes: c.notes,
        active: true,
        epoch: 1,
        anchor_on,
        next_seq: 0,
        next_start: Some(day_start(anchor_on, tz)),
        created_by: Some(p.user_id),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let saved = match store::visits::plans::create_plan(&ctx.db, &row, &c.team).await {
        Ok(s) => s,
        Err(StoreError::Conflict) => return Err(ServiceError::Conflict("plan_exists")),
        Err(e) => return Err(e.into()),
    };
    generate_or_log(ctx, saved.community_id).await;
    plan_view(ctx, store::visits::plans::plan(&ctx.db, saved.id).await?).await
}

/// How the caller stands to a plan: may change it (staff, grid worker) or only read it (team).
async fn load_plan(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<(PlanRow, bool)> {
    let plan = store::visits::plans::plan(&ctx.db, id).await?;
    if !p.is_member(plan.community_id) {
        return Err(ServiceError::NotFound);
    }
    match residents::load_for(ctx, p, plan.resident_id).await {
        Ok((_, ResidentAccess::Staff | ResidentAccess::GridWorker)) => return Ok((plan, true)),
        Ok(_) | Err(ServiceError::NotFound) => {}
        Err(e) => return Err(e),
    }
    let team = store::visits::plans::members(&ctx.db, plan.id).await?;
    if team.iter().any(|m| m.user_id == p.user_id) {
        return Ok((plan, false));
    }
    Err(ServiceError::NotFound)
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<PlanView> {
    let (plan, _) = load_plan(ctx, p, id).await?;
    plan_view(ctx, plan).await
}

/// Lists: staff see the community (`None`); grid workers, doctors and volunteers what their
/// grids and care teams hold (`Some(user)`); anyone else 403.
pub(super) fn team_scope(p: &Principal, community_id: Uuid) -> ServiceResult<Option<Uuid>> {
    if p.is_staff(community_id) {
        return Ok(None);
    }
    if [Role::GridWorker, Role::Doctor, Role::Volunteer]
        .iter()
        .any(|r| p.has(*r, community_id))
    {
        return Ok(Some(p.user_id));
    }
    Err(ServiceError::Forbidden("forbidden"))
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    q: PlanQuery,
    page: PageRequest,
) -> ServiceResult<Page<PlanView>> {
    crate::services::registry::communities::visible(ctx, p, community_id).await?;
    let visible_to = team_scope(p, community_id)?;
    let filter = PlanFilter {
        community_id,
        resident_id: q.resident_id,
        active: q.active,
        grid_id: q.grid_id,
        member_id: q.member_id,
        visible_to,
    };
    let rows =
        store::visits::plans::plans(&ctx.db, &filter, page.after, page.fetch_limit()).await?;
    let more = rows.len() as i64 > page.limit;
    let mut items = Vec::new();
    for r in rows.into_iter().take(page.limit as usize) {
        items.push(plan_view(ctx, r).await?);
    }
    Ok(Page {
        next_after: if more {
            items.last().map(|v| v.id)
        } else {
            None
        },
        items,
    })
}

/// A merge patch of the plan's team, contact kinds, frequency (null: follow the grade), end
/// and notes. A changed schedule starts a new epoch from today.
pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &serde_json::Value,
) -> ServiceResult<PlanView> {
    let (plan, may_change) = load_plan(ctx, p, id).await?;
    if !may_change {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    if !plan.active {
        return Err(ServiceError::Conflict("plan_ended"));
    }
    if changes.get("resident_id").is_some() {
        return Err(field_error("resident_id", "immutable"));
    }
    let team = store::visits::plans::members(&ctx.db, plan.id).await?;
    let current = PlanInput {
        resident_id: plan.resident_id,
        team: team
            .iter()
            .map(|m| MemberInput {
                user_id: m.user_id,
                role: m.role.clone(),
            })
            .collect(),
        contact_kinds: kinds_of(&plan.contact_kinds),
        frequency_days: plan.frequency_days,
        starts_on: Some(plan.starts_on),
        ends_on: plan.ends_on,
        notes: plan.notes.clone(),
    };
    let input: PlanInput = patch::apply(&current, changes)?;
    let (policy, tz) = policy_and_zone(ctx, plan.community_id).await?;
    let (grade, _, _) = store::visits::grades::grade_of(&ctx.db, plan.resident_id).await?;
    let now = store::now();
    let today = local_day(now, tz);
    let grade_every = grade.as_deref().and_then(|g| policy.every_days(g));
    let c = check_plan(ctx, plan.community_id, &input, today, grade_every).await?;
    let schedule_changed = c.frequency != plan.frequency_days
        || c.kinds != plan.contact_kinds
        || c.ends_on != plan.ends_on
        || c.starts_on != plan.starts_on;
    let n = PlanRow {
        frequency_days: c.frequency,
        contact_kinds: c.kinds,
        starts_on: c.starts_on,
        ends_on: c.ends_on,
        notes: c.notes,
        updated_at: now,
        ..plan.clone()
    };
    let every = c.frequency.map(|f| f as u32).or(grade_every);
    let anchor_on = anchor(c.starts_on, today);
    let replan = schedule_changed.then(|| Replan {
        plan_id: plan.id,
        anchor_on,
        next_start: every.map(|_| day_start(anchor_on, tz)),
        at: now,
    });
    let team_changed = changes.get("team").is_some();
    store::visits::plans::update_plan(
        &ctx.db,
        &n,
        version,
        team_changed.then_some(c.team.as_slice()),
        replan.as_ref(),
    )
    .await?;
    if replan.is_some() {
        generate_or_log(ctx, n.community_id).await;
    }
    plan_view(ctx, store::visits::plans::plan(&ctx.db, plan.id).await?).await
}

/// Ends a plan: its visits not yet started are cancelled.
pub async fn deactivate(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: Option<i64>,
) -> ServiceResult<()> {
    let (plan, may_change) = load_plan(ctx, p, id).await?;
    if !may_change {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    if !plan.active {
        return Ok(());
    }
    let n = PlanRow {
        active: false,
        updated_at: store::now(),
        ..plan.clone()
    };
    store::visits::plans::update_plan(&ctx.db, &n, version.unwrap_or(plan.version), None, None)
        .await?;
    Ok(())
}
