//! The generation job: each due plan's windows up to its community's horizon, in the
//! community's time zone; missed windows; and the one constructor of new visits.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::visit::{ContactKind, Reason, Status, window, windows_until};
use crate::services::ServiceResult;
use crate::services::registry::communities::deny;
use crate::services::visits::grading::policy_and_zone;
use crate::services::visits::plans::kinds_of;
use crate::state::AppState;
use crate::store;
use crate::store::visits::generation::{DuePlan, Generated};
use crate::store::visits::plans::PlanRow;
use crate::store::visits::visits::VisitRow;

const GENERATION_BATCH: i64 = 2000;
const MISSED_BATCH: i64 = 500;

#[derive(Debug, Default, Serialize)]
pub struct GenerationView {
    pub plans: usize,
    pub created: u64,
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

/// The generation job: every active plan's visits due within its community's horizon. One
/// query finds the communities with due plans, so that a tick costs what the due work costs,
/// not what the number of communities does. Safe to run any number of times, in any number of
/// instances at once.
pub async fn generate(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<GenerationView> {
    let mut out = GenerationView::default();
    for c in store::visits::generation::due_communities(&ctx.db, now).await? {
        let g = in_community(ctx, c, now, true).await?;
        out.plans += g.plans;
        out.created += g.created;
    }
    Ok(out)
}

/// One community's due plans. Asks first whether any is due, so that nothing due takes no
/// write lock.
pub async fn generate_in(
    ctx: &AppState,
    community_id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<GenerationView> {
    in_community(ctx, community_id, now, false).await
}

async fn in_community(
    ctx: &AppState,
    community_id: Uuid,
    now: DateTime<Utc>,
    known_due: bool,
) -> ServiceResult<GenerationView> {
    let (policy, tz) = policy_and_zone(ctx, community_id).await?;
    let until = now + Duration::days(i64::from(policy.visit.horizon_days));
    let mut out = GenerationView::default();
    if !known_due && !store::visits::generation::any_due(&ctx.db, community_id, until).await? {
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

/// After a change to one community's plans or grades: its visits at once. A failure is left to
/// the sweeper, which makes them too.
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
    // Windows that opened: the care team is told the visit is due.
    loop {
        let announced = store::visits::generation::announce_due(&ctx.db, now, MISSED_BATCH).await?;
        if (announced as i64) < MISSED_BATCH {
            break;
        }
    }
    generate(ctx, now).await?;
    Ok(n)
}

/// A visit due in `window`, scheduled; plan visits also carry their window's `seq`.
pub(super) fn new_visit(
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
        reason,
        contact_kind,
        window_start,
        window_end,
        status: Status::Scheduled,
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
pub(super) fn ad_hoc_visit(
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

/// A follow-up another capability asks for (a mediation's follow-up date): a home visit due in
/// `window`, the grid's to make (no plan), inserted by the caller's own transaction.
pub fn grid_follow_up(
    community_id: Uuid,
    resident_id: Uuid,
    grid_id: Option<Uuid>,
    window: (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> VisitRow {
    new_visit(
        (community_id, resident_id, grid_id),
        (None, None),
        Reason::FollowUp,
        ContactKind::HomeVisit,
        window,
        now,
    )
}
