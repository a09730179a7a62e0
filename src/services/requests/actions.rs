//! What callers do to a help request once placed: 分拣 (triage), start, 退单 (give back),
//! complete, 评单/回访 (rate), cancel and 寻单 (claim). Each is one transition of the lifecycle.

use chrono::Duration;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::help_request::{Action, DispatchMode, Origin, Status};
use crate::domain::text::{Description, Text};
use crate::domain::volunteer::VolunteerStatus;
use crate::services::requests::access::{Access, assignee, load};
use crate::services::requests::dispatch;
use crate::services::requests::lifecycle::{next_sla_checkpoint, then_dispatch, timer, transition};
use crate::services::requests::placing::deadlines;
use crate::services::requests::view::{HelpRequestView, view};
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store::requests::help_requests::{HoursRow, RatingRow};
use crate::store::{self, StoreError};

/// A reason or note given with a transition.
type Reason = Text<500>;

/// A required reason or note of at most 500 characters.
pub(crate) fn reason(field: &str, s: Option<&str>) -> ServiceResult<String> {
    match s.map(Reason::parse) {
        Some(Ok(r)) => Ok(r.into_inner()),
        Some(Err(code)) => Err(field_error(field, code)),
        None => Err(field_error(field, "required")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageInput {
    /// `accept`, `duplicate` or `not_ours`.
    pub decision: String,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub duplicate_of: Option<Uuid>,
}

/// 分拣: a dispatcher accepts a request for dispatch or closes it as a duplicate / not ours.
pub async fn triage(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: TriageInput,
) -> ServiceResult<HelpRequestView> {
    let (r, a) = load(ctx, p, id).await?;
    if a != Access::Staff {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let note = match input.note.as_deref() {
        Some(n) => Some(
            Reason::parse(n)
                .map_err(|c| field_error("note", c))?
                .into_inner(),
        ),
        None => None,
    };
    let now = store::now();
    let saved = match input.decision.as_str() {
        "accept" => {
            let saved = transition(
                ctx,
                &r,
                Action::TriageAccept,
                Some(p.user_id),
                json!({"note": note}),
                now,
                |_, _| {},
            )
            .await?;
            then_dispatch(ctx, saved, now).await?
        }
        d @ ("duplicate" | "not_ours") => {
            if d == "duplicate" {
                let Some(dup) = input.duplicate_of else {
                    return Err(field_error("duplicate_of", "required"));
                };
                match store::requests::help_requests::get(&ctx.db, dup).await {
                    Ok(o) if o.community_id == r.community_id && o.id != r.id => {}
                    Ok(_) | Err(StoreError::NotFound) => {
                        return Err(field_error("duplicate_of", "unknown_reference"));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let data = json!({"decision": d, "note": note, "duplicate_of": input.duplicate_of});
            transition(
                ctx,
                &r,
                Action::TriageReject,
                Some(p.user_id),
                data,
                now,
                |n, _| {
                    n.closed_at = Some(now);
                    n.close_reason = Some(d.to_string());
                },
            )
            .await?
        }
        _ => return Err(field_error("decision", "unknown_value")),
    };
    view(ctx, p, saved, a).await
}

/// The assignee starts the work (上门/开始服务).
pub async fn start(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<HelpRequestView> {
    let (r, a) = load(ctx, p, id).await?;
    assignee(&r, a)?;
    let now = store::now();
    let saved = transition(
        ctx,
        &r,
        Action::Start,
        Some(p.user_id),
        json!({}),
        now,
        |n, _| {
            n.started_at = Some(now);
        },
    )
    .await?;
    view(ctx, p, saved, a).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    #[serde(default)]
    pub reason: Option<String>,
}

/// 退单: the assignee hands the request back; it goes to the next volunteer.
pub async fn give_back(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: ReasonInput,
) -> ServiceResult<HelpRequestView> {
    let (r, a) = load(ctx, p, id).await?;
    let v = assignee(&r, a)?;
    let why = reason("reason", input.reason.as_deref())?;
    let now = store::now();
    let saved = transition(
        ctx,
        &r,
        Action::Return,
        Some(p.user_id),
        json!({"reason": why, "volunteer_id": v}),
        now,
        |n, fx| {
            n.assignee_id = None;
            n.started_at = None;
            fx.load = Some((v, -1));
        },
    )
    .await?;
    let saved = then_dispatch(ctx, saved, now).await?;
    view(ctx, p, saved, a).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteInput {
    #[serde(default)]
    pub resolution_note: Option<String>,
}

/// The assignee completes the work with a resolution note; their hours are credited.
pub async fn complete(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: CompleteInput,
) -> ServiceResult<HelpRequestView> {
    let (r, a) = load(ctx, p, id).await?;
    let v = assignee(&r, a)?;
    let note = match input.resolution_note.as_deref().map(Description::parse) {
        Some(Ok(n)) => n.into_inner(),
        Some(Err(c)) => return Err(field_error("resolution_note", c)),
        None => return Err(field_error("resolution_note", "required")),
    };
    let rules = dispatch::rules(ctx, r.community_id).await?;
    let now = store::now();
    let started = r.started_at.unwrap_or(now);
    let minutes = ((now - started).num_minutes().max(0))
        .min(i64::from(rules.policy.hours.max_minutes_per_request));
    let month = dispatch::month_key(now, rules.tz);
    let auto_close = now + Duration::days(i64::from(rules.policy.rating.auto_close_days));
    let saved = transition(
        ctx,
        &r,
        Action::Complete,
        Some(p.user_id),
        json!({"minutes": minutes}),
        now,
        |n, fx| {
            n.completed_at = Some(now);
            n.resolution_note = Some(note);
            fx.load = Some((v, -1));
            fx.hours = Some(HoursRow {
                id: Uuid::now_v7(),
                community_id: r.community_id,
                volunteer_id: v,
                source_type: "help_request",
                source_id: r.id,
                minutes,
                verified_by: None,
                note: None,
                at: now,
                month_key: month,
            });
            fx.drop_timers.push("sla");
            fx.add_timers.push(timer(&r, "auto_close", auto_close));
        },
    )
    .await?;
    view(ctx, p, saved, a).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    pub rating: i64,
    pub solved: bool,
    #[serde(default)]
    pub comment: Option<String>,
}

/// 评单 by the resident, or 回访 by the grid worker or staff. Unsatisfied and unsolved reopens
/// (重办); anything else closes.
pub async fn rate(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: RatingInput,
) -> ServiceResult<HelpRequestView> {
    let (r, a) = load(ctx, p, id).await?;
    let rated_as = match a {
        Access::Resident => "resident",
        Access::GridWorker => "grid_worker",
        Access::Staff => "staff",
        Access::Volunteer(_) | Access::Client => return Err(ServiceError::Forbidden("forbidden")),
    };
    let mut f = Fields::new();
    if !(1..=5).contains(&input.rating) {
        f.push("rating", "out_of_range");
    }
    let comment = f.check_opt("comment", input.comment.as_deref(), Reason::parse);
    let Some(comment) = comment else {
        return Err(ServiceError::Validation(f.into_errors()));
    };
    if !f.is_empty() {
        return Err(ServiceError::Validation(f.into_errors()));
    }
    let rules = dispatch::rules(ctx, r.community_id).await?;
    let satisfied = input.rating >= i64::from(rules.policy.rating.satisfied_from);
    let reopen = !satisfied && !input.solved;
    let now = store::now();
    let rating = RatingRow {
        id: Uuid::now_v7(),
        request_id: r.id,
        community_id: r.community_id,
        volunteer_id: r.assignee_id,
        rating: input.rating,
        solved: input.solved,
        comment: comment.map(|c| c.into_inner()),
        rated_by: p.user_id,
        rated_as,
        at: now,
    };
    let data = json!({"rating": input.rating, "solved": input.solved, "rated_as": rated_as, "comment": rating.comment});
    let action = if reopen {
        Action::Reopen
    } else {
        Action::RateClose
    };
    let (_, resolve) = {
        let st = store::registry::service_types::get(&ctx.db, r.service_type_id).await?;
        let u = r.urgency;
        deadlines(&st, u, &rules, now)
    };
    let remind = rules.policy.deadlines.remind_at_percent;
    let saved = transition(ctx, &r, action, Some(p.user_id), data, now, |n, fx| {
        n.rating = Some(input.rating);
        n.solved = Some(input.solved);
        fx.rating = Some(rating);
        if reopen {
            n.reopen_count += 1;
            n.assignee_id = None;
            n.started_at = None;
            n.completed_at = None;
            n.resolution_note = None;
            n.resolve_by = resolve;
            n.resolve_from = now;
            n.resolve_reminded = false;
            n.resolve_overdue = false;
            fx.reset_resolve_flags = true;
            fx.drop_timers.push("auto_close");
            if let Some(t) = next_sla_checkpoint(n, remind, now) {
                fx.add_timers.push(timer(n, "sla", t));
            }
        } else {
            n.closed_at = Some(now);
            n.close_reason = Some("rated".into());
        }
    })
    .await?;
    let saved = then_dispatch(ctx, saved, now).await?;
    view(ctx, p, saved, a).await
}

/// Cancels a request before completion: the resident it is for, staff, or the integration
/// client (scope `requests:write`) that placed it, with a reason.
pub async fn cancel(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: ReasonInput,
) -> ServiceResult<HelpRequestView> {
    let (r, a) = load(ctx, p, id).await?;
    let own_placement = a == Access::Client
        && r.placed_by == Some(p.user_id)
        && p.client_may(crate::domain::scope::Scope::RequestsWrite, r.community_id);
    if !(matches!(a, Access::Staff | Access::Resident) || own_placement) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let why = reason("reason", input.reason.as_deref())?;
    let now = store::now();
    let serving = matches!(r.status, Status::Accepted | Status::InProgress);
    let saved = transition(
        ctx,
        &r,
        Action::Cancel,
        Some(p.user_id),
        json!({"reason": why}),
        now,
        |n, fx| {
            n.closed_at = Some(now);
            n.close_reason = Some(why.clone());
            if serving && let Some(v) = r.assignee_id {
                fx.load = Some((v, -1));
            }
        },
    )
    .await?;
    view(ctx, p, saved, a).await
}

/// 寻单: a volunteer takes an open proactive need they have the skills for.
pub async fn claim(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<HelpRequestView> {
    let (r, a) = load(ctx, p, id).await?;
    let Access::Volunteer(v) = a else {
        return Err(ServiceError::Forbidden("not_a_volunteer"));
    };
    if r.origin != Origin::Proactive {
        return Err(ServiceError::Conflict("not_claimable"));
    }
    let st = store::registry::service_types::get(&ctx.db, r.service_type_id).await?;
    let vol = store::registry::volunteers::get(&ctx.db, v).await?;
    if vol.status != VolunteerStatus::Active {
        return Err(ServiceError::Conflict("volunteer_not_active"));
    }
    let has: Vec<&str> = vol.skills.split(',').collect();
    if st
        .required_skills
        .0
        .iter()
        .any(|s| !has.contains(&s.as_str()))
    {
        return Err(ServiceError::Conflict("missing_skills"));
    }
    if store::registry::residents::exclusions(&ctx.db, r.resident_id)
        .await?
        .contains(&v)
    {
        return Err(ServiceError::Conflict("excluded_by_resident"));
    }
    let now = store::now();
    let saved = transition(
        ctx,
        &r,
        Action::Claim,
        Some(p.user_id),
        json!({"volunteer_id": v}),
        now,
        |n, fx| {
            n.assignee_id = Some(v);
            n.dispatch_mode = DispatchMode::Claim;
            n.responded_at = n.responded_at.or(Some(now));
            fx.load = Some((v, 1));
            fx.withdraw_open_offers = true;
            fx.drop_timers.extend(["offer_expiry", "dispatch"]);
        },
    )
    .await?;
    view(ctx, p, saved, a).await
}
