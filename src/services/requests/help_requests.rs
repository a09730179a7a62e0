//! Help requests from 点单 to 评单 (DESIGN §3). Every change goes through the lifecycle table
//! (`domain::help_request::next`) and is written with its timeline entry and outbox row in one
//! transaction, guarded by the request's version so that racing clients get one winner.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::geo::Coordinates;
use crate::domain::help_request::{Action, Channel, DispatchMode, Origin, PlacedAs, Status, next};
use crate::domain::mask::mask_phone;
use crate::domain::phone::Phone;
use crate::domain::role::Role;
use crate::domain::text::{Description, Name, Text};
use crate::domain::urgency::Urgency;
use crate::services::requests::dispatch::{self, Rules, event, status_of, timer};
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store::requests::help_requests::{
    Effects, HelpRequestRow, HoursRow, RatingRow, RequestFilter,
};
use crate::store::{self, StoreError};

/// A reason or note given with a transition.
type Reason = Text<500>;
type AddressText = Text<200>;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceInput {
    /// Defaults to the caller's own resident record.
    #[serde(default)]
    pub resident_id: Option<Uuid>,
    pub service_type_id: Uuid,
    #[serde(default)]
    pub urgency: Option<String>,
    pub description: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
    /// Staff taking a call say who called: `relative`, `third_party`, `visit`, `staff`.
    #[serde(default)]
    pub placed_as: Option<String>,
    #[serde(default)]
    pub caller_name: Option<String>,
    #[serde(default)]
    pub caller_phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub location: Option<Coordinates>,
    #[serde(default)]
    pub window_start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub window_end: Option<DateTime<Utc>>,
    /// `auto` (one volunteer at a time) or `broadcast` (抢单); emergencies default to broadcast.
    #[serde(default)]
    pub mode: Option<String>,
}

/// The resident as the caller may see them on a request.
#[derive(Debug, Clone, Serialize)]
pub struct ResidentBrief {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HelpRequestView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub resident_id: Uuid,
    /// Present for staff, the grid worker, the resident, and the assignee while serving.
    pub resident: Option<ResidentBrief>,
    pub grid_id: Option<Uuid>,
    pub service_type_id: Uuid,
    pub placed_by: Option<Uuid>,
    pub placed_as: String,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub channel: String,
    pub origin: String,
    pub urgency: String,
    pub description: String,
    pub address: Option<String>,
    pub location: Option<Coordinates>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    pub status: String,
    pub dispatch_mode: String,
    pub attempts: i64,
    pub assignee_id: Option<Uuid>,
    pub respond_by: DateTime<Utc>,
    pub resolve_by: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub resolution_note: Option<String>,
    pub close_reason: Option<String>,
    pub overdue: bool,
    pub respond_overdue: bool,
    pub resolve_overdue: bool,
    pub rating: Option<i64>,
    pub solved: Option<bool>,
    pub reopen_count: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How the caller stands to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Staff,
    /// Grid worker of the request's grid.
    GridWorker,
    /// The resident the request is for.
    Resident,
    /// A volunteer with an open offer, the assignee, or (proactive needs) a possible claimer.
    Volunteer(Uuid),
}

async fn access(
    ctx: &AppState,
    p: &Principal,
    r: &HelpRequestRow,
    resident_user: Option<Uuid>,
) -> ServiceResult<Option<Access>> {
    let c = r.community_id;
    if p.is_staff(c) {
        return Ok(Some(Access::Staff));
    }
    if p.has(Role::GridWorker, c)
        && let Some(g) = r.grid_id
        && store::registry::grids::worker_grids(&ctx.db, p.user_id, c)
            .await?
            .contains(&g)
    {
        return Ok(Some(Access::GridWorker));
    }
    if p.has(Role::Resident, c) && resident_user == Some(p.user_id) {
        return Ok(Some(Access::Resident));
    }
    if p.has(Role::Volunteer, c)
        && let Some(v) =
            store::requests::candidates::volunteer_of_user(&ctx.db, p.user_id, c).await?
    {
        let open_offer = store::requests::help_requests::offers(&ctx.db, r.id)
            .await?
            .iter()
            .any(|o| o.volunteer_id == v && o.answer.is_none());
        // A proactive need is open to every volunteer while the lifecycle allows a claim.
        let claimable =
            r.origin == Origin::Proactive.as_str() && next(status_of(r), Action::Claim).is_ok();
        if r.assignee_id == Some(v) || open_offer || claimable {
            return Ok(Some(Access::Volunteer(v)));
        }
    }
    Ok(None)
}

/// Loads a request the caller may see; 404 for any other.
pub async fn load(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(HelpRequestRow, Access)> {
    let (r, a, _) = load_full(ctx, p, id).await?;
    Ok((r, a))
}

/// `load` with the resident's brief, read in the same round trip.
async fn load_full(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(
    HelpRequestRow,
    Access,
    store::requests::help_requests::ResidentBrief,
)> {
    let full = store::requests::help_requests::get_with_resident(&ctx.db, id).await?;
    match access(ctx, p, &full.request, full.resident.resident_user_id).await? {
        Some(a) => Ok((full.request, a, full.resident)),
        None => Err(ServiceError::NotFound),
    }
}

async fn view(
    ctx: &AppState,
    p: &Principal,
    r: HelpRequestRow,
    a: Access,
) -> ServiceResult<HelpRequestView> {
    let res = store::registry::residents::get(&ctx.db, r.resident_id).await?;
    let brief = store::requests::help_requests::ResidentBrief {
        resident_name: res.name,
        resident_phone: res.phone,
        resident_address: res.address,
        resident_user_id: res.user_id,
    };
    let v = view_with(r, a, brief);
    audit_full_read(ctx, p, &v, a).await?;
    Ok(v)
}

fn view_with(
    r: HelpRequestRow,
    a: Access,
    res: store::requests::help_requests::ResidentBrief,
) -> HelpRequestView {
    let serving = matches!(a, Access::Volunteer(v) if r.assignee_id == Some(v)
        && matches!(status_of(&r), Status::Accepted | Status::InProgress));
    let details = !matches!(a, Access::Volunteer(_)) || serving;
    let resident = if details {
        // The assignee calls the resident; everyone else sees the number masked.
        let phone = match res.resident_phone {
            Some(ph) if serving => Some(ph),
            Some(ph) => Some(mask_phone(&ph)),
            None => None,
        };
        Some(ResidentBrief {
            id: r.resident_id,
            name: res.resident_name,
            phone,
            address: res.resident_address,
        })
    } else {
        None
    };
    let staffish = matches!(a, Access::Staff | Access::GridWorker);
    HelpRequestView {
        id: r.id,
        community_id: r.community_id,
        resident_id: r.resident_id,
        resident,
        grid_id: r.grid_id,
        service_type_id: r.service_type_id,
        placed_by: r.placed_by,
        placed_as: r.placed_as,
        caller_name: if staffish { r.caller_name } else { None },
        caller_phone: if staffish {
            r.caller_phone.as_deref().map(mask_phone)
        } else {
            None
        },
        channel: r.channel,
        origin: r.origin,
        urgency: r.urgency,
        description: r.description,
        address: if details { r.address } else { None },
        location: if details {
            Coordinates::from_columns(r.lat, r.lng)
        } else {
            None
        },
        window_start: r.window_start,
        window_end: r.window_end,
        status: r.status,
        dispatch_mode: r.dispatch_mode,
        attempts: r.attempts,
        assignee_id: r.assignee_id,
        respond_by: r.respond_by,
        resolve_by: r.resolve_by,
        responded_at: r.responded_at,
        started_at: r.started_at,
        completed_at: r.completed_at,
        closed_at: r.closed_at,
        resolution_note: r.resolution_note,
        close_reason: r.close_reason,
        overdue: r.respond_overdue || r.resolve_overdue,
        respond_overdue: r.respond_overdue,
        resolve_overdue: r.resolve_overdue,
        rating: r.rating,
        solved: r.solved,
        reopen_count: r.reopen_count,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// When the assignee is reminded (催办) of a deadline: `percent` of the way from when the
/// deadline was set (placing for the response, placing or the last reopen for the resolution).
pub fn reminder_at(set_at: DateTime<Utc>, due: DateTime<Utc>, percent: u32) -> DateTime<Utc> {
    set_at + (due - set_at) * i32::try_from(percent).unwrap_or(75) / 100
}

/// The next SLA checkpoint after `now` that has not been handled, if any.
pub fn next_sla_checkpoint(
    r: &HelpRequestRow,
    remind_percent: u32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut points = Vec::new();
    if r.responded_at.is_none() {
        if !r.respond_reminded {
            points.push(reminder_at(r.created_at, r.respond_by, remind_percent));
        }
        if !r.respond_overdue {
            points.push(r.respond_by);
        }
    }
    if r.completed_at.is_none() {
        if !r.resolve_reminded {
            points.push(reminder_at(r.resolve_from, r.resolve_by, remind_percent));
        }
        if !r.resolve_overdue {
            points.push(r.resolve_by);
        }
    }
    points.into_iter().min().map(|t| t.max(now))
}

/// Deadlines: the service type's own targets at its default urgency, the policy's otherwise.
fn deadlines(
    st: &store::registry::service_types::ServiceTypeRow,
    urgency: Urgency,
    rules: &Rules,
    from: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let (respond, resolve) = if st.default_urgency == urgency.as_str() {
        (st.respond_minutes, st.resolve_hours)
    } else {
        let s = rules.policy.sla.for_urgency(urgency);
        (i64::from(s.respond_minutes), i64::from(s.resolve_hours))
    };
    (
        from + Duration::minutes(respond),
        from + Duration::hours(resolve),
    )
}

/// What a new request is made of, checked.
pub(crate) struct NewRequest<'a> {
    pub resident: &'a store::registry::residents::ResidentRow,
    pub st: &'a store::registry::service_types::ServiceTypeRow,
    pub urgency: Urgency,
    pub description: String,
    pub placed_by: Uuid,
    pub placed_as: PlacedAs,
    pub channel: Channel,
    pub origin: Origin,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub address: Option<String>,
    pub location: Option<Coordinates>,
    pub window: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    pub mode: DispatchMode,
    pub rules: &'a Rules,
    pub now: DateTime<Utc>,
}

/// A new request as placed, before its first dispatch round.
pub(crate) fn new_row(n: NewRequest) -> HelpRequestRow {
    let (respond_by, resolve_by) = deadlines(n.st, n.urgency, n.rules, n.now);
    let status = crate::domain::help_request::initial(n.rules.policy.triage);
    HelpRequestRow {
        id: Uuid::now_v7(),
        community_id: n.resident.community_id,
        resident_id: n.resident.id,
        grid_id: n.resident.grid_id,
        service_type_id: n.st.id,
        placed_by: Some(n.placed_by),
        placed_as: n.placed_as.as_str().to_string(),
        caller_name: n.caller_name,
        caller_phone: n.caller_phone,
        channel: n.channel.as_str().to_string(),
        origin: n.origin.as_str().to_string(),
        urgency: n.urgency.as_str().to_string(),
        description: n.description,
        address: n.address.or(n.resident.address.clone()),
        lat: n.location.map(|l| l.lat),
        lng: n.location.map(|l| l.lng),
        window_start: n.window.0,
        window_end: n.window.1,
        status: status.as_str().to_string(),
        dispatch_mode: n.mode.as_str().to_string(),
        attempts: 0,
        assignee_id: None,
        respond_by,
        resolve_by,
        resolve_from: n.now,
        responded_at: None,
        started_at: None,
        completed_at: None,
        closed_at: None,
        resolution_note: None,
        close_reason: None,
        respond_reminded: false,
        resolve_reminded: false,
        respond_overdue: false,
        resolve_overdue: false,
        rating: None,
        solved: None,
        reopen_count: 0,
        version: 1,
        created_at: n.now,
        updated_at: n.now,
    }
}

/// A need found on a visit: a proactive request placed as `visit`, written with the visit's
/// completion. Its first dispatch round is made after that commit (a `dispatch` timer is the
/// crash-safe fallback).
pub(crate) fn found_need(n: NewRequest, visit_id: Uuid) -> (HelpRequestRow, Effects) {
    let now = n.now;
    let remind = n.rules.policy.deadlines.remind_at_percent;
    let row = new_row(n);
    let status = status_of(&row);
    let mut fx = Effects {
        at: now,
        ..Effects::default()
    };
    fx.events.push(event(
        &row,
        "placed",
        row.placed_by,
        None,
        Some(status),
        json!({"channel": row.channel, "origin": row.origin, "placed_as": row.placed_as,
               "visit_id": visit_id}),
        now,
    ));
    if status == Status::Dispatching {
        fx.add_timers.push(timer(&row, "dispatch", now));
    }
    fx.add_timers
        .extend(next_sla_checkpoint(&row, remind, now).map(|t| timer(&row, "sla", t)));
    (row, fx)
}

/// 点单: places a request for a resident the caller may act for, and makes the first offer.
pub async fn place(
    ctx: &AppState,
    p: &Principal,
    input: PlaceInput,
) -> ServiceResult<HelpRequestView> {
    let now = store::now();
    // Whose request: the caller's own record unless another is named.
    let resident_id = match input.resident_id {
        Some(id) => id,
        None => {
            let mut own = Vec::new();
            for g in p.grants.iter().filter(|g| g.role == Role::Resident) {
                if let Some(c) = g.community_id {
                    own.extend(
                        store::registry::residents::ids_of_user(&ctx.db, p.user_id, c).await?,
                    );
                }
            }
            match own.as_slice() {
                [one] => *one,
                _ => return Err(field_error("resident_id", "required")),
            }
        }
    };
    let resident = match store::registry::residents::get(&ctx.db, resident_id).await {
        Ok(r) if r.active => r,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(field_error("resident_id", "unknown_reference"));
        }
        Err(e) => return Err(e.into()),
    };
    let c = resident.community_id;
    let caller = if p.is_staff(c) {
        PlacedAs::Staff
    } else if resident.user_id == Some(p.user_id) && p.has(Role::Resident, c) {
        PlacedAs::Resident
    } else if p.has(Role::GridWorker, c)
        && resident.grid_id.is_some()
        && store::registry::grids::worker_grids(&ctx.db, p.user_id, c)
            .await?
            .iter()
            .any(|g| Some(*g) == resident.grid_id)
    {
        PlacedAs::GridWorker
    } else if p.has(Role::Volunteer, c) {
        PlacedAs::Volunteer
    } else {
        return Err(field_error("resident_id", "unknown_reference"));
    };
    let rules = dispatch::rules(ctx, c).await?;
    let st = match store::registry::service_types::get(&ctx.db, input.service_type_id).await {
        Ok(st) if st.community_id == c && st.active => Some(st),
        Ok(_) | Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };

    let mut f = Fields::new();
    if st.is_none() {
        f.push("service_type_id", "unknown_reference");
    }
    let urgency = match &input.urgency {
        Some(u) => f.check("urgency", Urgency::parse(u)),
        None => st
            .as_ref()
            .and_then(|s| Urgency::parse(&s.default_urgency).ok()),
    };
    let description = f.check("description", Description::parse(&input.description));
    let default_channel = match caller {
        PlacedAs::Resident => Channel::MiniProgram,
        PlacedAs::Staff => Channel::Phone,
        _ => Channel::App,
    };
    let channel = match &input.channel {
        Some(ch) => f.check("channel", Channel::parse(ch)),
        None => Some(default_channel),
    };
    let origin = match &input.origin {
        Some(o) => f.check("origin", Origin::parse(o)),
        None => Some(Origin::Call),
    };
    let placed_as = match (&input.placed_as, caller) {
        (None, c) => Some(c),
        (Some(s), PlacedAs::Staff) => f.check(
            "placed_as",
            PlacedAs::parse(s).and_then(|a| match a {
                PlacedAs::Relative | PlacedAs::ThirdParty | PlacedAs::Visit | PlacedAs::Staff => {
                    Ok(a)
                }
                _ => Err("not_allowed"),
            }),
        ),
        (Some(s), c) if s == c.as_str() => Some(c),
        (Some(_), _) => {
            f.push("placed_as", "not_allowed");
            None
        }
    };
    let caller_name = f.check_opt("caller_name", input.caller_name.as_deref(), Name::parse);
    let caller_phone = f.check_opt("caller_phone", input.caller_phone.as_deref(), Phone::parse);
    let address = f.check_opt("address", input.address.as_deref(), AddressText::parse);
    let location = match input.location {
        Some(l) => f
            .check("location", Coordinates::parse(l.lat, l.lng))
            .map(Some),
        None => Some(Coordinates::from_columns(resident.lat, resident.lng)),
    };
    for (field, t) in [
        ("window_start", input.window_start),
        ("window_end", input.window_end),
    ] {
        if t.is_some_and(|t| !crate::services::sane_time(t)) {
            f.push(field, "out_of_range");
        }
    }
    match (input.window_start, input.window_end) {
        (Some(s), Some(e)) if e <= s => f.push("window_end", "before_start"),
        (Some(s), Some(e)) if e - s > Duration::days(31) => f.push("window_end", "too_long"),
        (None, Some(_)) => f.push("window_start", "required"),
        (_, Some(e)) if e <= now => f.push("window_end", "in_the_past"),
        _ => {}
    }
    let mode = match &input.mode {
        Some(m) => f.check(
            "mode",
            DispatchMode::parse(m).and_then(|m| match m {
                DispatchMode::Auto | DispatchMode::Broadcast => Ok(m),
                _ => Err("not_allowed"),
            }),
        ),
        None => urgency.map(|u| {
            if u == Urgency::Emergency {
                DispatchMode::Broadcast
            } else {
                DispatchMode::Auto
            }
        }),
    };
    let (
        Some(st),
        Some(urgency),
        Some(description),
        Some(channel),
        Some(origin),
        Some(placed_as),
        Some(caller_name),
        Some(caller_phone),
        Some(address),
        Some(location),
        Some(mode),
    ) = (
        st,
        urgency,
        description,
        channel,
        origin,
        placed_as,
        caller_name,
        caller_phone,
        address,
        location,
        mode,
    )
    else {
        return Err(ServiceError::Validation(f.into_errors()));
    };
    if !f.is_empty() {
        return Err(ServiceError::Validation(f.into_errors()));
    }

    let row = new_row(NewRequest {
        resident: &resident,
        st: &st,
        urgency,
        description: description.into_inner(),
        placed_by: p.user_id,
        placed_as,
        channel,
        origin,
        caller_name: caller_name.map(|n| n.into_inner()),
        caller_phone: caller_phone.map(|p| p.as_str().to_string()),
        address: address.map(|a| a.into_inner()),
        location,
        window: (input.window_start, input.window_end),
        mode,
        rules: &rules,
        now,
    });
    let status = status_of(&row);
    let placed = event(
        &row,
        "placed",
        Some(p.user_id),
        None,
        Some(status),
        json!({"channel": row.channel, "origin": row.origin, "placed_as": row.placed_as}),
        now,
    );
    let sla_at = next_sla_checkpoint(&row, rules.policy.deadlines.remind_at_percent, now);
    let (stored, mut fx) = if status == Status::Dispatching {
        dispatch::plan_round(ctx, &rules, &row, Some(&st.required_skills.0), now).await?
    } else {
        (row.clone(), Effects::default())
    };
    fx.at = now;
    // A new request has no timers to drop yet.
    fx.drop_timers.clear();
    fx.events.insert(0, placed);
    fx.add_timers.extend(sla_at.map(|t| timer(&row, "sla", t)));
    // The row goes in as it stands after the first round; its version counts from 1.
    let stored = HelpRequestRow {
        version: 1,
        ..stored
    };
    store::requests::help_requests::insert(&ctx.db, &stored, &fx).await?;
    // The caller sees what a later GET would show them; someone placing on another's behalf
    // without a standing role on the request sees no personal details.
    let a = access(ctx, p, &stored, resident.user_id)
        .await?
        .unwrap_or(Access::Volunteer(Uuid::nil()));
    let brief = store::requests::help_requests::ResidentBrief {
        resident_name: resident.name,
        resident_phone: resident.phone,
        resident_address: resident.address,
        resident_user_id: resident.user_id,
    };
    Ok(view_with(stored, a, brief))
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
    let from = status_of(r);
    let to = next(from, action).map_err(ServiceError::Conflict)?;
    let mut n = r.clone();
    n.status = to.as_str().to_string();
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
async fn then_dispatch(
    ctx: &AppState,
    saved: HelpRequestRow,
    now: DateTime<Utc>,
) -> ServiceResult<HelpRequestRow> {
    if status_of(&saved) != Status::Dispatching {
        return Ok(saved);
    }
    if let Err(e) = dispatch::advance(ctx, saved.id, now).await {
        // The dispatch timer written with the transition retries it.
        tracing::warn!(request_id = %saved.id, error = %e, "dispatch after transition failed");
    }
    Ok(store::requests::help_requests::get(&ctx.db, saved.id).await?)
}

/// A required reason or note of at most 500 characters.
pub(crate) fn reason(field: &str, s: Option<&str>) -> ServiceResult<String> {
    match s.map(Reason::parse) {
        Some(Ok(r)) => Ok(r.into_inner()),
        Some(Err(code)) => Err(field_error(field, code)),
        None => Err(field_error(field, "required")),
    }
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<HelpRequestView> {
    let (r, a, brief) = load_full(ctx, p, id).await?;
    let v = view_with(r, a, brief);
    audit_full_read(ctx, p, &v, a).await?;
    Ok(v)
}

/// The assignee reads the resident's phone in full to serve them; like every full read of
/// personal data, it goes to the audit log.
async fn audit_full_read(
    ctx: &AppState,
    p: &Principal,
    v: &HelpRequestView,
    a: Access,
) -> ServiceResult<()> {
    if !matches!(a, Access::Volunteer(_)) || v.resident.is_none() {
        return Ok(());
    }
    let reason = format!("serving help request {}", v.id);
    store::audit::insert(
        &ctx.db,
        store::audit::NewAudit {
            community_id: Some(v.community_id),
            actor_id: Some(p.user_id),
            action: "resident.read_for_service",
            object_type: "resident",
            object_id: Some(v.resident_id),
            reason: Some(&reason),
            request_id: None,
        },
    )
    .await?;
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub community_id: Option<Uuid>,
    pub status: Option<String>,
    pub grid_id: Option<Uuid>,
    pub service_type_id: Option<Uuid>,
    pub urgency: Option<String>,
    pub overdue: Option<bool>,
    pub assignee_id: Option<Uuid>,
    pub origin: Option<String>,
    pub resident_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Lists the requests of one community the caller may see, newest first.
pub async fn list(
    ctx: &AppState,
    p: &Principal,
    q: ListQuery,
    page: PageRequest,
) -> ServiceResult<Page<HelpRequestView>> {
    let community_id = crate::services::community_of_list(p, q.community_id)?;
    let mut f = Fields::new();
    if let Some(s) = &q.status {
        f.check("status", Status::parse(s));
    }
    if let Some(u) = &q.urgency {
        f.check("urgency", Urgency::parse(u));
    }
    if let Some(o) = &q.origin {
        f.check("origin", Origin::parse(o));
    }
    for (field, t) in [("from", q.from), ("to", q.to)] {
        if t.is_some_and(|t| !crate::services::sane_time(t)) {
            f.push(field, "out_of_range");
        }
    }
    if let (Some(a), Some(b)) = (q.from, q.to)
        && b <= a
    {
        f.push("to", "before_start");
    }
    if !f.is_empty() {
        return Err(ServiceError::Validation(f.into_errors()));
    }
    let mut filter = RequestFilter {
        community_id,
        status: q.status,
        grid_id: q.grid_id,
        service_type_id: q.service_type_id,
        urgency: q.urgency,
        overdue: q.overdue,
        assignee_id: q.assignee_id,
        origin: q.origin,
        from: q.from,
        to: q.to,
        resident_id: q.resident_id,
        ..RequestFilter::default()
    };
    let access = if p.is_staff(community_id) {
        Access::Staff
    } else if p.has(Role::GridWorker, community_id) {
        filter.grid_worker = Some(p.user_id);
        Access::GridWorker
    } else if p.has(Role::Resident, community_id) {
        filter.resident_user = Some(p.user_id);
        Access::Resident
    } else if p.has(Role::Volunteer, community_id) {
        let v = store::requests::candidates::volunteer_of_user(&ctx.db, p.user_id, community_id)
            .await?
            .unwrap_or(Uuid::nil());
        filter.volunteer_id = Some(v);
        Access::Volunteer(v)
    } else {
        return Err(ServiceError::Forbidden("forbidden"));
    };
    let rows =
        store::requests::help_requests::list(&ctx.db, &filter, page.after, page.fetch_limit())
            .await?;
    let page = page.page(
        rows,
        |r| r.request.id,
        |r| view_with(r.request, access, r.resident),
    );
    for v in &page.items {
        audit_full_read(ctx, p, v, access).await?;
    }
    Ok(page)
}

/// Timeline entries whose details anyone who sees the request may read.
const PUBLIC_EVENT_DATA: &[&str] = &[
    "placed",
    "triage_accepted",
    "triage_rejected",
    "accepted",
    "claimed",
    "started",
    "completed",
    "closed",
    "auto_closed",
    "reopened",
    "cancelled",
    "escalated",
    "reminder",
    "overdue",
];

#[derive(Debug, Serialize)]
pub struct EventView {
    pub id: Uuid,
    pub kind: String,
    pub actor_id: Option<Uuid>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub data: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// The timeline (every event with actor and time), oldest first.
pub async fn timeline(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    page: PageRequest,
) -> ServiceResult<Page<EventView>> {
    let (r, a) = load(ctx, p, id).await?;
    let rows =
        store::requests::help_requests::timeline(&ctx.db, r.id, page.after, page.fetch_limit())
            .await?;
    let staff = a == Access::Staff;
    Ok(page.page(
        rows,
        |e| e.id,
        |e| EventView {
            id: e.id,
            // Everyone sees what happened; only staff see who else was offered, the scores, and
            // volunteers' reasons for declining or returning.
            data: if staff || PUBLIC_EVENT_DATA.contains(&e.kind.as_str()) {
                e.data.0
            } else {
                json!({})
            },
            kind: e.kind,
            actor_id: e.actor_id,
            from_status: e.from_status,
            to_status: e.to_status,
            at: e.at,
        },
    ))
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

/// The volunteer the caller is, when they are this request's assignee.
fn assignee(r: &HelpRequestRow, a: Access) -> ServiceResult<Uuid> {
    match a {
        Access::Volunteer(v) if r.assignee_id == Some(v) => Ok(v),
        _ => Err(ServiceError::Forbidden("not_assignee")),
    }
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
        Access::Volunteer(_) => return Err(ServiceError::Forbidden("forbidden")),
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
        let u = Urgency::parse(&r.urgency).unwrap_or(Urgency::Normal);
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

/// Cancels a request before completion: the resident it is for, or staff, with a reason.
pub async fn cancel(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: ReasonInput,
) -> ServiceResult<HelpRequestView> {
    let (r, a) = load(ctx, p, id).await?;
    if !matches!(a, Access::Staff | Access::Resident) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let why = reason("reason", input.reason.as_deref())?;
    let now = store::now();
    let serving = matches!(status_of(&r), Status::Accepted | Status::InProgress);
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
    if r.origin != Origin::Proactive.as_str() {
        return Err(ServiceError::Conflict("not_claimable"));
    }
    let st = store::registry::service_types::get(&ctx.db, r.service_type_id).await?;
    let vol = store::registry::volunteers::get(&ctx.db, v).await?;
    if vol.status != "active" {
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
            n.dispatch_mode = DispatchMode::Claim.as_str().to_string();
            n.responded_at = n.responded_at.or(Some(now));
            fx.load = Some((v, 1));
            fx.withdraw_open_offers = true;
            fx.drop_timers.extend(["offer_expiry", "dispatch"]);
        },
    )
    .await?;
    view(ctx, p, saved, a).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn reminders_fall_at_their_share_of_the_time_since_the_deadline_was_set() {
        let set = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap();
        let due = set + Duration::hours(4);
        assert_eq!(reminder_at(set, due, 75), set + Duration::hours(3));
        // A reopen a week later starts the clock again.
        let reopened = set + Duration::days(7);
        assert_eq!(
            reminder_at(reopened, reopened + Duration::hours(72), 50),
            reopened + Duration::hours(36)
        );
    }
}
