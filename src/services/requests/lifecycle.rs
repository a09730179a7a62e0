//! The lifecycle of a help request (DESIGN §3). Every change goes through the lifecycle table
//! (`domain::help_request::next`) and is written with its timeline entry and outbox row in one
//! transaction, guarded by the request's version so that racing clients get one winner.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::help_request::{Action, Status, next};
use crate::domain::sla::{self, Deadline};
use crate::services::requests::dispatch;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::requests::help_requests::{Effects, EventRow, HelpRequestRow, TimerRow};
use crate::store::{self, StoreError};

/// A timeline entry of the request.
pub fn event(
    r: &HelpRequestRow,
    kind: &str,
    actor: Option<Uuid>,
    from: Option<Status>,
    to: Option<Status>,
    data: serde_json::Value,
    at: DateTime<Utc>,
) -> EventRow {
    EventRow {
        id: Uuid::now_v7(),
        request_id: r.id,
        community_id: r.community_id,
        kind: kind.to_string(),
        actor_id: actor,
        from_status: from.map(|s| s.as_str().to_string()),
        to_status: to.map(|s| s.as_str().to_string()),
        data: Json(data),
        at,
    }
}

/// A timer of the request, for the sweeper.
pub fn timer(r: &HelpRequestRow, kind: &'static str, due_at: DateTime<Utc>) -> TimerRow {
    TimerRow {
        id: Uuid::now_v7(),
        community_id: r.community_id,
        kind,
        request_id: r.id,
        due_at,
    }
}

/// The request's deadlines: the response, then the resolution.
pub fn sla_of(r: &HelpRequestRow) -> [Deadline; 2] {
    [
        Deadline {
            set_at: r.created_at,
            due: r.respond_by,
            met: r.responded_at.is_some(),
            reminded: r.respond_reminded,
            overdue: r.respond_overdue,
        },
        Deadline {
            set_at: r.resolve_from,
            due: r.resolve_by,
            met: r.completed_at.is_some(),
            reminded: r.resolve_reminded,
            overdue: r.resolve_overdue,
        },
    ]
}

/// The next SLA checkpoint of the request not yet handled, never before `now`.
pub fn next_sla_checkpoint(
    r: &HelpRequestRow,
    remind_percent: u32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    sla::next_checkpoint(&sla_of(r), remind_percent, now)
}

fn event_kind(a: Action) -> &'static str {
    match a {
        Action::TriageAccept => "triage_accepted",
        Action::TriageReject => "triage_rejected",
        Action::Offer => "offered",
        Action::Escalate => "escalated",
        Action::Accept => "accepted",
        Action::Claim => "claimed",
        Action::Start => "started",
        Action::Return => "returned",
        Action::Complete => "completed",
        Action::RateClose => "closed",
        Action::AutoClose => "auto_closed",
        Action::Reopen => "reopened",
        Action::Cancel => "cancelled",
    }
}

/// Applies `action` to the request as it was read: the lifecycle table decides whether it may,
/// `build` fills in the new row and effects, and the write succeeds only if nobody moved the
/// request meanwhile (409 `state_changed` otherwise).
pub async fn transition(
    ctx: &AppState,
    r: &HelpRequestRow,
    action: Action,
    actor: Option<Uuid>,
    data: serde_json::Value,
    now: DateTime<Utc>,
    build: impl FnOnce(&mut HelpRequestRow, &mut Effects),
) -> ServiceResult<HelpRequestRow> {
    let from = r.status;
    let to = next(from, action).map_err(ServiceError::Conflict)?;
    let mut n = r.clone();
    n.status = to;
    n.updated_at = now;
    let mut fx = Effects {
        at: now,
        events: vec![event(
            r,
            event_kind(action),
            actor,
            Some(from),
            Some(to),
            data,
            now,
        )],
        ..Effects::default()
    };
    if to == Status::Dispatching {
        // Crash-safe: the sweeper finishes the dispatch if this process does not.
        fx.add_timers.push(timer(r, "dispatch", now));
        n.attempts = 0;
    }
    if to.is_final() {
        fx.drop_timers.push("*");
        fx.withdraw_open_offers = true;
    }
    build(&mut n, &mut fx);
    match store::requests::help_requests::apply(&ctx.db, &n, r.version, &fx).await {
        Ok(saved) => Ok(saved),
        Err(StoreError::StaleVersion) => Err(ServiceError::Conflict("state_changed")),
        Err(e) => Err(e.into()),
    }
}

/// After a move back to `dispatching`, the next round is made at once.
pub(crate) async fn then_dispatch(
    ctx: &AppState,
    saved: HelpRequestRow,
    now: DateTime<Utc>,
) -> ServiceResult<HelpRequestRow> {
    if saved.status != Status::Dispatching {
        return Ok(saved);
    }
    if let Err(e) = dispatch::advance(ctx, saved.id, now).await {
        // The dispatch timer written with the transition retries it.
        tracing::warn!(request_id = %saved.id, error = %e, "dispatch after transition failed");
    }
    Ok(store::requests::help_requests::get(&ctx.db, saved.id).await?)
}
