//! 点单: placing a help request for a resident, by call or from a need found on a visit, with
//! its deadlines and its first dispatch round.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::geo::Coordinates;
use crate::domain::help_request::{Channel, DispatchMode, Origin, PlacedAs, Status};
use crate::domain::phone::Phone;
use crate::domain::role::Role;
use crate::domain::sla::{self, ServiceTargets};
use crate::domain::text::{Description, Name, Text};
use crate::domain::urgency::Urgency;
use crate::services::registry::residents;
use crate::services::requests::access::{Access, access};
use crate::services::requests::dispatch::{self, Rules};
use crate::services::requests::lifecycle::{event, next_sla_checkpoint, timer};
use crate::services::requests::view::{HelpRequestView, view_with};
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store::registry::service_types::ServiceTypeRow;
use crate::store::requests::help_requests::{Effects, HelpRequestRow};
use crate::store::{self, StoreError};

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

/// The deadlines of a request for this service type at `urgency`, set at `from`.
pub(crate) fn deadlines(
    st: &ServiceTypeRow,
    urgency: Urgency,
    rules: &Rules,
    from: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let own = Urgency::parse(&st.default_urgency)
        .ok()
        .map(|u| ServiceTargets {
            urgency: u,
            respond_minutes: st.respond_minutes,
            resolve_hours: st.resolve_hours,
        });
    sla::deadlines(urgency, own, &rules.policy.sla, from)
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

/// A new request as placed, before its first dispatch round, and the state it starts in.
pub(crate) fn new_row(n: NewRequest) -> (HelpRequestRow, Status) {
    let (respond_by, resolve_by) = deadlines(n.st, n.urgency, n.rules, n.now);
    let status = crate::domain::help_request::initial(n.rules.policy.triage);
    let row = HelpRequestRow {
        id: Uuid::now_v7(),
        community_id: n.resident.community_id,
        resident_id: n.resident.id,
        grid_id: n.resident.grid_id,
        service_type_id: n.st.id,
        placed_by: Some(n.placed_by),
        placed_as: n.placed_as,
        caller_name: n.caller_name,
        caller_phone: n.caller_phone,
        channel: n.channel,
        origin: n.origin,
        urgency: n.urgency,
        description: n.description,
        address: n.address.or(n.resident.address.clone()),
        lat: n.location.map(|l| l.lat),
        lng: n.location.map(|l| l.lng),
        window_start: n.window.0,
        window_end: n.window.1,
        status,
        dispatch_mode: n.mode,
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
    };
    (row, status)
}

/// A need found on a visit: a proactive request placed as `visit`, written with the visit's
/// completion. Its first dispatch round is made after that commit (a `dispatch` timer is the
/// crash-safe fallback).
pub(crate) fn found_need(n: NewRequest, visit_id: Uuid) -> (HelpRequestRow, Effects) {
    let now = n.now;
    let remind = n.rules.policy.deadlines.remind_at_percent;
    let (row, status) = new_row(n);
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
    let Some(caller) = residents::may_place_for(ctx, p, &resident).await? else {
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
        PlacedAs::ThirdParty => Channel::ThirdParty,
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

    let (row, status) = new_row(NewRequest {
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
        assignee_name: None,
        assignee_phone: None,
    };
    view_with(stored, a, brief)
}

/// A request placed by someone who stands outside the registry (an Open311 client), under an
/// id they already hold, with what their capability writes beside it: the first dispatch round
/// is planned and everything commits together.
pub(crate) async fn place_new(
    ctx: &AppState,
    n: NewRequest<'_>,
    id: Uuid,
    also: &dyn crate::store::TxWrites,
) -> ServiceResult<HelpRequestRow> {
    let now = n.now;
    let rules = n.rules;
    let st = n.st;
    let (mut row, status) = new_row(n);
    row.id = id;
    let placed = event(
        &row,
        "placed",
        row.placed_by,
        None,
        Some(status),
        json!({"channel": row.channel, "origin": row.origin, "placed_as": row.placed_as}),
        now,
    );
    let sla_at = next_sla_checkpoint(&row, rules.policy.deadlines.remind_at_percent, now);
    let (stored, mut fx) = if status == Status::Dispatching {
        dispatch::plan_round(ctx, rules, &row, Some(&st.required_skills.0), now).await?
    } else {
        (row.clone(), Effects::default())
    };
    fx.at = now;
    fx.drop_timers.clear();
    fx.events.insert(0, placed);
    fx.add_timers.extend(sla_at.map(|t| timer(&row, "sla", t)));
    let stored = HelpRequestRow {
        version: 1,
        ..stored
    };
    store::requests::help_requests::insert_with(&ctx.db, &stored, &fx, also).await?;
    Ok(stored)
}
