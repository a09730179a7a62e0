//! 未呼先应: visit plans and their care teams, the generation job, visits from start to
//! completion, the needs found on them, urgent findings and major changes, and missed visits.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::grading::raised;
use crate::domain::help_request::{Channel, DispatchMode, Origin, PlacedAs};
use crate::domain::mask::mask_phone;
use crate::domain::role::Role;
use crate::domain::text::{Description, Text};
use crate::domain::urgency::Urgency;
use crate::domain::visit::{
    Action, Condition, ContactKind, GradeSource, MajorChange, Reason, Status, local_day, next,
    window, windows_until,
};
use crate::services::registry::communities::deny;
use crate::services::registry::residents::{self, ResidentAccess};
use crate::services::requests::help_requests::{
    NewRequest, ReasonInput, ResidentBrief, found_need, reason,
};
use crate::services::visits::grading::{policy_and_zone, replan_for};
use crate::services::visits::plans::{kinds_of, team_scope};
use crate::services::{Page, PageRequest, ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::audit::NewAudit;
use crate::store::requests::help_requests::{Effects, HelpRequestRow};
use crate::store::visits::generation::{DuePlan, Generated};
use crate::store::visits::grades::{GradeChangeRow, GradeUpdate};
use crate::store::visits::plans::PlanRow;
use crate::store::visits::visits::{
    MajorChangeRow, VisitChange, VisitEvent, VisitFilter, VisitRow, VisitWithResident,
};
use crate::store::{self, StoreError};

type Observations = Text<2000>;

const MAX_NEEDS: usize = 10;
const GENERATION_BATCH: i64 = 2000;
const MISSED_BATCH: i64 = 500;

#[derive(Debug, Serialize)]
pub struct VisitView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident: ResidentBrief,
    pub grid_id: Option<Uuid>,
    pub plan_id: Option<Uuid>,
    pub reason: String,
    pub contact_kind: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub started_by: Option<Uuid>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<Uuid>,
    /// Completed within its window.
    pub on_time: Option<bool>,
    pub performed_contact_kind: Option<String>,
    pub duration_minutes: Option<i64>,
    pub condition: Option<String>,
    pub observations: Option<String>,
    pub cancel_reason: Option<String>,
    /// The help requests made of the needs found on this visit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_request_ids: Option<Vec<Uuid>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeedInput {
    pub service_type_id: Uuid,
    pub description: String,
    #[serde(default)]
    pub urgency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteInput {
    pub contact_kind: String,
    pub duration_minutes: i64,
    pub condition: String,
    #[serde(default)]
    pub observations: Option<String>,
    #[serde(default)]
    pub needs: Vec<NeedInput>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MajorChangeInput {
    pub kind: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct MajorChangeView {
    pub id: Uuid,
    pub resident_id: Uuid,
    pub kind: String,
    pub description: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub reported_by: Uuid,
    pub at: DateTime<Utc>,
    pub visit: VisitView,
}

#[derive(Debug, Default, Serialize)]
pub struct GenerationView {
    pub plans: usize,
    pub created: u64,
}

#[derive(Debug, Deserialize)]
pub struct VisitQuery {
    pub community_id: Option<Uuid>,
    /// Only the visits whose team the caller is on (我的走访).
    #[serde(default)]
    pub mine: bool,
    pub status: Option<String>,
    pub resident_id: Option<Uuid>,
    pub grid_id: Option<Uuid>,
    pub plan_id: Option<Uuid>,
    pub due_from: Option<DateTime<Utc>>,
    pub due_to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The windows of one due plan, from its cursor to the horizon.
fn windows_of(
    d: &DuePlan,
    policy: &crate::domain::policy::CommunityPolicy,
    tz: Tz,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Generated {
    let every = d
        .frequency_days
        .map(|f| f as u32)
        .or_else(|| d.care_level.as_deref().and_then(|g| policy.every_days(g)));
    let Some(every) = every else {
        // Parked until a grade or a frequency re-plans it.
        return Generated {
            plan_id: d.id,
            visits: Vec::new(),
            next_seq: d.next_seq,
            next_start: None,
        };
    };
    let ws = windows_until(d.anchor_on, every, d.next_seq, until, d.ends_on, tz);
    let kinds = kinds_of(&d.contact_kinds);
    let visits: Vec<VisitRow> = ws
        .iter()
        .map(|w| {
            let kind = kinds
                .get(w.seq as usize % kinds.len().max(1))
                .and_then(|k| ContactKind::parse(k).ok())
                .unwrap_or(ContactKind::HomeVisit);
            let mut v = new_visit(
                (d.community_id, d.resident_id, d.grid_id),
                (Some(d.id), Some(d.epoch)),
                Reason::Plan,
                kind,
                (w.start, w.end),
                now,
            );
            v.seq = Some(w.seq);
            v
        })
        .collect();
    let next_seq = d.next_seq + ws.len() as i64;
    let first_day = d.anchor_on + Duration::days(next_seq * every as i64);
    let next_start = if d.ends_on.is_some_and(|e| first_day > e) {
        None
    } else {
        Some(window(d.anchor_on, every, next_seq, tz).start)
    };
    Generated {
        plan_id: d.id,
        visits,
        next_seq,
        next_start,
    }
}

/// The generation job: every active plan's visits due within its community's horizon. Safe to
/// run any number of times, in any number of instances at once.
pub async fn generate(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<GenerationView> {
    let mut out = GenerationView::default();
    for c in store::registry::communities::active_ids(&ctx.db).await? {
        let g = generate_in(ctx, c, now).await?;
        out.plans += g.plans;
        out.created += g.created;
    }
    Ok(out)
}

pub async fn generate_in(
    ctx: &AppState,
    community_id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<GenerationView> {
    let (policy, tz) = policy_and_zone(ctx, community_id).await?;
    let until = now + Duration::days(i64::from(policy.visit.horizon_days));
    let mut out = GenerationView::default();
    if !store::visits::generation::any_due(&ctx.db, community_id, until).await? {
        return Ok(out);
    }
    loop {
        let (plans, created) = store::visits::generation::generate_batch(
            &ctx.db,
            community_id,
            until,
            GENERATION_BATCH,
            now,
            |d| windows_of(d, &policy, tz, until, now),
        )
        .await?;
        out.plans += plans;
        out.created += created;
        if (plans as i64) < GENERATION_BATCH {
            return Ok(out);
        }
    }
}

/// Generation after a change that re-plans; a failure is left to the next sweep.
/// After a change to one community's plans or grades: its visits at once (the job would make
/// them too, later).
pub(crate) async fn generate_or_log(ctx: &AppState, community_id: Uuid) {
    if let Err(e) = generate_in(ctx, community_id, store::now()).await {
        tracing::warn!(error = %e, "visit generation failed");
    }
}

/// Staff run the generation job now for their community.
pub async fn generate_now(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
) -> ServiceResult<GenerationView> {
    crate::services::registry::communities::visible(ctx, p, community_id).await?;
    if !p.is_staff(community_id) {
        return Err(deny(p, community_id));
    }
    generate_in(ctx, community_id, store::now()).await
}

/// The sweeper's part: windows that passed become missed (with an alert to the grid worker
/// and the dispatchers), then the next visits are generated.
pub async fn sweep(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<usize> {
    let mut n = 0;
    while store::visits::generation::any_missed(&ctx.db, now).await? {
        let missed = store::visits::generation::mark_missed(&ctx.db, now, MISSED_BATCH).await?;
        n += missed.len();
        if (missed.len() as i64) < MISSED_BATCH {
            break;
        }
    }
    generate(ctx, now).await?;
    Ok(n)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VisitAccess {
    Staff,
    GridWorker,
    Team,
}

/// A visit's team: its plan's care team, or for a visit outside any plan, its grid's workers.
async fn on_team(ctx: &AppState, v: &VisitRow, user_id: Uuid) -> ServiceResult<bool> {
    Ok(match (v.plan_id, v.grid_id) {
        (Some(plan), _) => store::visits::plans::members(&ctx.db, plan)
            .await?
            .iter()
            .any(|m| m.user_id == user_id),
        (None, Some(grid)) => {
            store::registry::grids::worker_grids(&ctx.db, user_id, v.community_id)
                .await?
                .contains(&grid)
        }
        (None, None) => false,
    })
}

async fn access(ctx: &AppState, p: &Principal, v: &VisitRow) -> ServiceResult<Option<VisitAccess>> {
    let c = v.community_id;
    if !p.is_member(c) {
        return Ok(None);
    }
    if on_team(ctx, v, p.user_id).await? {
        return Ok(Some(VisitAccess::Team));
    }
    if p.is_staff(c) {
        return Ok(Some(VisitAccess::Staff));
    }
    if p.has(Role::GridWorker, c)
        && let Some(g) = v.grid_id
        && store::registry::grids::worker_grids(&ctx.db, p.user_id, c)
            .await?
            .contains(&g)
    {
        return Ok(Some(VisitAccess::GridWorker));
    }
    Ok(None)
}

async fn load(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(VisitWithResident, VisitAccess)> {
    let v = store::visits::visits::get(&ctx.db, id).await?;
    match access(ctx, p, &v.visit).await? {
        Some(a) => Ok((v, a)),
        None => Err(ServiceError::NotFound),
    }
}

fn view(v: VisitWithResident, full_phone: bool, needs: Option<Vec<Uuid>>) -> VisitView {
    let r = v.visit;
    VisitView {
        id: r.id,
        community_id: r.community_id,
        resident: ResidentBrief {
            id: r.resident_id,
            name: v.resident_name,
            phone: if full_phone {
                v.resident_phone
            } else {
                v.resident_phone.as_deref().map(mask_phone)
            },
            address: v.resident_address,
        },
        grid_id: r.grid_id,
        plan_id: r.plan_id,
        reason: r.reason,
        contact_kind: r.contact_kind,
        window_start: r.window_start,
        window_end: r.window_end,
        on_time: r.completed_at.map(|c| c <= r.window_end),
        status: r.status,
        started_at: r.started_at,
        started_by: r.started_by,
        completed_at: r.completed_at,
        completed_by: r.completed_by,
        performed_contact_kind: r.performed_contact_kind,
        duration_minutes: r.duration_minutes,
        condition: r.condition,
        observations: r.observations,
        cancel_reason: r.cancel_reason,
        need_request_ids: needs,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// One visit. Its team sees the resident's phone in full (they are to call or visit), and
/// each such read is audited.
pub async fn get(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    request_id: Option<&str>,
) -> ServiceResult<VisitView> {
    let (v, a) = load(ctx, p, id).await?;
    let full = a == VisitAccess::Team && v.resident_phone.is_some();
    if full {
        store::audit::insert(
            &ctx.db,
            NewAudit {
                community_id: Some(v.visit.community_id),
                actor_id: Some(p.user_id),
                action: "resident.reveal",
                object_type: "resident",
                object_id: Some(v.visit.resident_id),
                reason: Some("visit team"),
                request_id,
            },
        )
        .await?;
    }
    let needs = store::visits::visits::needs(&ctx.db, v.visit.id).await?;
    Ok(view(v, full, Some(needs)))
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    q: VisitQuery,
    page: PageRequest,
) -> ServiceResult<Page<VisitView>> {
    let community_id = crate::services::community_of_list(p, q.community_id)?;
    let mut f = Fields::new();
    if let Some(s) = &q.status {
        f.check("status", Status::parse(s));
    }
    for (field, t) in [("due_from", q.due_from), ("due_to", q.due_to)] {
        if t.is_some_and(|t| !crate::services::sane_time(t)) {
            f.push(field, "out_of_range");
        }
    }
    if let (Some(a), Some(b)) = (q.due_from, q.due_to)
        && b <= a
    {
        f.push("due_to", "before_start");
    }
    if !f.is_empty() {
        return Err(ServiceError::Validation(f.into_errors()));
    }
    let visible_to = team_scope(p, community_id)?;
    let filter = VisitFilter {
        community_id,
        status: q.status,
        resident_id: q.resident_id,
        grid_id: q.grid_id,
        plan_id: q.plan_id,
        due_from: q.due_from,
        due_to: q.due_to,
        assigned_to: q.mine.then_some(p.user_id),
        visible_to,
    };
    let rows =
        store::visits::visits::list(&ctx.db, &filter, page.after, page.fetch_limit()).await?;
    Ok(page.page(rows, |v| v.visit.id, |v| view(v, false, None)))
}

/// Applies a lifecycle action to the visit as read; 409 when someone moved it meanwhile.
fn moved(v: &VisitRow, action: Action, now: DateTime<Utc>) -> ServiceResult<VisitRow> {
    let to = next(
        Status::parse(&v.status).map_err(ServiceError::Conflict)?,
        action,
    )
    .map_err(ServiceError::Conflict)?;
    Ok(VisitRow {
        status: to.as_str().to_string(),
        updated_at: now,
        ..v.clone()
    })
}

fn stale(e: StoreError) -> ServiceError {
    match e {
        StoreError::StaleVersion => ServiceError::Conflict("state_changed"),
        other => other.into(),
    }
}

fn event(v: &VisitRow, kind: &'static str, actor: Uuid, data: serde_json::Value) -> VisitEvent {
    VisitEvent {
        visit_id: v.id,
        community_id: v.community_id,
        kind,
        actor_id: Some(actor),
        data,
        at: v.updated_at,
    }
}

fn team_only(a: VisitAccess) -> ServiceResult<()> {
    if a == VisitAccess::Team {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("not_on_team"))
    }
}

fn opened(v: &VisitRow, now: DateTime<Utc>) -> ServiceResult<()> {
    if now < v.window_start {
        return Err(ServiceError::Conflict("visit_not_open"));
    }
    Ok(())
}

pub async fn start(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<VisitView> {
    let (v, a) = load(ctx, p, id).await?;
    team_only(a)?;
    let now = store::now();
    let mut n = moved(&v.visit, Action::Start, now)?;
    opened(&v.visit, now)?;
    n.started_at = Some(now);
    n.started_by = Some(p.user_id);
    let change = VisitChange {
        visit: &n,
        expected_version: v.visit.version,
        event: event(&n, "started", p.user_id, json!({})),
        needs: &[],
        grade: None,
        follow_up: None,
        hours: None,
    };
    store::visits::visits::apply(&ctx.db, &change)
        .await
        .map_err(stale)?;
    let saved = store::visits::visits::get(&ctx.db, id).await?;
    Ok(view(saved, false, None))
}

/// Completes a visit: how the resident is, what was seen, and the needs found, each a
/// proactive help request dispatched like any other. An urgent finding raises the grade and
/// brings a follow-up visit within the policy's hours.
pub async fn complete(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: CompleteInput,
) -> ServiceResult<VisitView> {
    let (v, a) = load(ctx, p, id).await?;
    team_only(a)?;
    let now = store::now();
    let mut n = moved(&v.visit, Action::Complete, now)?;
    opened(&v.visit, now)?;
    let c = v.visit.community_id;
    let mut f = Fields::new();
    let kind = f.check("contact_kind", ContactKind::parse(&input.contact_kind));
    if !(0..=24 * 60).contains(&input.duration_minutes) {
        f.push("duration_minutes", "out_of_range");
    }
    let condition = f.check("condition", Condition::parse(&input.condition));
    let observations = f.check_opt(
        "observations",
        input.observations.as_deref(),
        Observations::parse,
    );
    if input.needs.len() > MAX_NEEDS {
        f.push("needs", "too_many");
    }
    let mut checked = Vec::new();
    for (i, need) in input.needs.iter().enumerate() {
        let st = match store::registry::service_types::get(&ctx.db, need.service_type_id).await {
            Ok(st) if st.community_id == c && st.active => Some(st),
            Ok(_) | Err(StoreError::NotFound) => {
                f.push(format!("needs[{i}].service_type_id"), "unknown_reference");
                None
            }
            Err(e) => return Err(e.into()),
        };
        let description = f.check(
            &format!("needs[{i}].description"),
            Description::parse(&need.description),
        );
        let urgency = match &need.urgency {
            Some(u) => f.check(&format!("needs[{i}].urgency"), Urgency::parse(u)),
            None => st
                .as_ref()
                .and_then(|s| Urgency::parse(&s.default_urgency).ok()),
        };
        if let (Some(st), Some(d), Some(u)) = (st, description, urgency) {
            checked.push((st, d.into_inner(), u));
        }
    }
    let (Some(kind), Some(condition), Some(observations)) = (kind, condition, observations) else {
        return Err(ServiceError::Validation(f.into_errors()));
    };
    if !f.is_empty() {
        return Err(ServiceError::Validation(f.into_errors()));
    }
    n.completed_at = Some(now);
    n.completed_by = Some(p.user_id);
    n.performed_contact_kind = Some(kind.as_str().to_string());
    n.duration_minutes = Some(input.duration_minutes);
    n.condition = Some(condition.as_str().to_string());
    n.observations = observations.map(|o| o.into_inner());

    let resident = store::registry::residents::get(&ctx.db, v.visit.resident_id).await?;
    let rules = crate::services::requests::dispatch::rules(ctx, c).await?;
    let needs: Vec<(HelpRequestRow, Effects)> = checked
        .iter()
        .map(|(st, description, urgency)| {
            found_need(
                NewRequest {
                    resident: &resident,
                    st,
                    urgency: *urgency,
                    description: description.clone(),
                    placed_by: p.user_id,
                    placed_as: PlacedAs::Visit,
                    channel: Channel::Visit,
                    origin: Origin::Proactive,
                    caller_name: None,
                    caller_phone: None,
                    address: None,
                    location: crate::domain::geo::Coordinates::from_columns(
                        resident.lat,
                        resident.lng,
                    ),
                    window: (None, None),
                    mode: if *urgency == Urgency::Emergency {
                        DispatchMode::Broadcast
                    } else {
                        DispatchMode::Auto
                    },
                    rules: &rules,
                    now,
                },
                v.visit.id,
            )
        })
        .collect();

    let (grade, follow_up) = if condition == Condition::Urgent {
        let (g, f) = urgent_finding(ctx, p, &v.visit, now).await?;
        (Some(g), Some(f))
    } else {
        (None, None)
    };
    let replanned = grade.as_ref().is_some_and(|g| g.replan.is_some());
    let change = VisitChange {
        visit: &n,
        expected_version: v.visit.version,
        event: event(
            &n,
            "completed",
            p.user_id,
            json!({"condition": condition, "contact_kind": kind, "on_time": now <= n.window_end,
                   "needs": needs.iter().map(|(r, _)| r.id).collect::<Vec<_>>(),
                   "follow_up_visit_id": follow_up.as_ref().map(|f: &VisitRow| f.id)}),
        ),
        needs: &needs,
        grade,
        follow_up,
        hours: volunteer_hours(ctx, p, &n, &rules).await?,
    };
    store::visits::visits::apply(&ctx.db, &change)
        .await
        .map_err(stale)?;
    for (r, _) in &needs {
        if let Err(e) = crate::services::requests::dispatch::advance(ctx, r.id, now).await {
            // The dispatch timer written with the request retries it.
            tracing::warn!(request_id = %r.id, error = %e, "dispatch of a found need failed");
        }
    }
    if replanned {
        generate_or_log(ctx, n.community_id).await;
    }
    let saved = store::visits::visits::get(&ctx.db, id).await?;
    let ids = store::visits::visits::needs(&ctx.db, id).await?;
    Ok(view(saved, false, Some(ids)))
}

/// A volunteer on the team is credited the visit's duration as service time (DESIGN §6),
/// capped like a request's.
async fn volunteer_hours(
    ctx: &AppState,
    p: &Principal,
    v: &VisitRow,
    rules: &crate::services::requests::dispatch::Rules,
) -> ServiceResult<Option<crate::store::requests::help_requests::HoursRow>> {
    let Some(volunteer) =
        store::requests::candidates::volunteer_of_user(&ctx.db, p.user_id, v.community_id).await?
    else {
        return Ok(None);
    };
    let minutes = v
        .duration_minutes
        .unwrap_or(0)
        .min(i64::from(rules.policy.hours.max_minutes_per_request));
    if minutes == 0 {
        return Ok(None);
    }
    let at = v.completed_at.unwrap_or(v.updated_at);
    Ok(Some(crate::store::requests::help_requests::HoursRow {
        id: Uuid::now_v7(),
        community_id: v.community_id,
        volunteer_id: volunteer,
        source_type: "visit",
        source_id: v.id,
        minutes,
        verified_by: None,
        note: None,
        at,
        month_key: crate::services::requests::dispatch::month_key(at, rules.tz),
    }))
}

/// An urgent finding: the grade one step up (kept with the visit as its reason), the plan
/// re-planned after a follow-up visit within the policy's hours.
async fn urgent_finding(
    ctx: &AppState,
    p: &Principal,
    v: &VisitRow,
    now: DateTime<Utc>,
) -> ServiceResult<(GradeUpdate, VisitRow)> {
    let (policy, tz) = policy_and_zone(ctx, v.community_id).await?;
    let (old, _, _) = store::visits::grades::grade_of(&ctx.db, v.resident_id).await?;
    let new = raised(&policy.visit, old.as_deref());
    let hours = i64::from(policy.visit.urgent_follow_up_hours);
    let due = now + Duration::hours(hours);
    let plan = store::visits::plans::active_plan(&ctx.db, v.resident_id).await?;
    // The regular windows start again on the day after the follow-up is due.
    let anchor_on = local_day(due, tz) + Duration::days(1);
    let replan = if old != new {
        replan_for(&policy, plan.as_ref(), new.as_deref(), anchor_on, tz, now)
    } else {
        None
    };
    let grade = GradeUpdate {
        change: GradeChangeRow {
            id: Uuid::now_v7(),
            community_id: v.community_id,
            resident_id: v.resident_id,
            from_grade: old,
            to_grade: new,
            source: GradeSource::Finding.as_str().to_string(),
            reason: Some("urgent finding on a visit".into()),
            actor_id: Some(p.user_id),
            visit_id: Some(v.id),
            at: now,
        },
        replan,
    };
    let follow_up = ad_hoc_visit(
        v.community_id,
        v.resident_id,
        v.grid_id,
        plan.as_ref(),
        Reason::FollowUp,
        now,
        due,
    );
    Ok((grade, follow_up))
}

/// A visit due in `window`, scheduled; plan visits also carry their window's `seq`.
fn new_visit(
    (community_id, resident_id, grid_id): (Uuid, Uuid, Option<Uuid>),
    (plan_id, epoch): (Option<Uuid>, Option<i64>),
    reason: Reason,
    contact_kind: ContactKind,
    (window_start, window_end): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> VisitRow {
    VisitRow {
        id: Uuid::now_v7(),
        community_id,
        resident_id,
        grid_id,
        plan_id,
        epoch,
        seq: None,
        reason: reason.as_str().to_string(),
        contact_kind: contact_kind.as_str().to_string(),
        window_start,
        window_end,
        status: Status::Scheduled.as_str().to_string(),
        started_at: None,
        started_by: None,
        completed_at: None,
        completed_by: None,
        performed_contact_kind: None,
        duration_minutes: None,
        condition: None,
        observations: None,
        cancel_reason: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// A visit outside the plan's schedule (a follow-up, a major change): a home visit from now
/// until `due`, by the plan's team if there is a plan.
fn ad_hoc_visit(
    community_id: Uuid,
    resident_id: Uuid,
    grid_id: Option<Uuid>,
    plan: Option<&PlanRow>,
    reason: Reason,
    now: DateTime<Utc>,
    due: DateTime<Utc>,
) -> VisitRow {
    new_visit(
        (community_id, resident_id, grid_id),
        (plan.map(|p| p.id), plan.map(|p| p.epoch)),
        reason,
        ContactKind::HomeVisit,
        (now, due),
        now,
    )
}

/// Staff cancel a visit that will not happen, with the reason.
pub async fn cancel(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: ReasonInput,
) -> ServiceResult<VisitView> {
    let (v, _) = load(ctx, p, id).await?;
    if !p.is_staff(v.visit.community_id) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let reason = reason("reason", input.reason.as_deref())?;
    let now = store::now();
    let mut n = moved(&v.visit, Action::Cancel, now)?;
    n.cancel_reason = Some(reason.clone());
    let change = VisitChange {
        visit: &n,
        expected_version: v.visit.version,
        event: event(&n, "cancelled", p.user_id, json!({"reason": reason})),
        needs: &[],
        grade: None,
        follow_up: None,
        hours: None,
    };
    store::visits::visits::apply(&ctx.db, &change)
        .await
        .map_err(stale)?;
    Ok(view(
        store::visits::visits::get(&ctx.db, id).await?,
        false,
        None,
    ))
}

/// A major change in a resident's life (discharge, bereavement, a fall): a visit within the
/// policy's hours, by the plan's team or, without a plan, the grid's workers.
pub async fn report_major_change(
    ctx: &AppState,
    p: &Principal,
    resident_id: Uuid,
    input: MajorChangeInput,
) -> ServiceResult<MajorChangeView> {
    let (r, access) = residents::load_for(ctx, p, resident_id).await?;
    if access == ResidentAccess::Own {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let now = store::now();
    let mut f = Fields::new();
    let kind = f.check("kind", MajorChange::parse(&input.kind));
    let description = f.check_opt(
        "description",
        input.description.as_deref(),
        Description::parse,
    );
    if let Some(t) = input.occurred_at
        && (!crate::services::sane_time(t) || t > now + Duration::minutes(5))
    {
        f.push("occurred_at", "out_of_range");
    }
    let (Some(kind), Some(description)) = (kind, description) else {
        return Err(ServiceError::Validation(f.into_errors()));
    };
    if !f.is_empty() {
        return Err(ServiceError::Validation(f.into_errors()));
    }
    if !r.active {
        return Err(ServiceError::Conflict("resident_inactive"));
    }
    let (policy, _) = policy_and_zone(ctx, r.community_id).await?;
    let plan = store::visits::plans::active_plan(&ctx.db, r.id).await?;
    let due = now + Duration::hours(i64::from(policy.visit.major_change_within_hours));
    let visit = ad_hoc_visit(
        r.community_id,
        r.id,
        r.grid_id,
        plan.as_ref(),
        Reason::MajorChange,
        now,
        due,
    );
    let m = MajorChangeRow {
        id: Uuid::now_v7(),
        community_id: r.community_id,
        resident_id: r.id,
        kind: kind.as_str().to_string(),
        description: description.map(|d| d.into_inner()),
        occurred_at: input.occurred_at,
        reported_by: p.user_id,
        visit_id: visit.id,
        at: now,
    };
    store::visits::visits::report_major_change(&ctx.db, &m, &visit).await?;
    let saved = store::visits::visits::get(&ctx.db, visit.id).await?;
    Ok(MajorChangeView {
        id: m.id,
        resident_id: m.resident_id,
        kind: m.kind,
        description: m.description,
        occurred_at: m.occurred_at,
        reported_by: m.reported_by,
        at: m.at,
        visit: view(saved, false, None),
    })
}
