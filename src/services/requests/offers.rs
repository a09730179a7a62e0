//! Offers (派单记录): a volunteer's answers, a dispatcher's own picks, and the explanation of a
//! decision. Batch assignment of the morning queue is in `batch`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::help_request::{Action, DispatchMode, OfferAnswer, Status};
use crate::domain::role::Role;
use crate::domain::score;
use crate::domain::text::Text;
use crate::domain::volunteer::VolunteerStatus;
use crate::services::requests::access::{Access, load};
use crate::services::requests::dispatch::{self, Ranked};
use crate::services::requests::lifecycle::{event, timer, transition};
use crate::services::requests::view::{self, HelpRequestView};
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store::requests::help_requests::{AnswerOffer, Effects, OfferRow};
use crate::store::{self, StoreError};

#[derive(Debug, Serialize)]
pub struct OfferView {
    pub id: Uuid,
    pub request_id: Uuid,
    pub volunteer_id: Uuid,
    pub attempt: i64,
    pub mode: String,
    pub score: f64,
    pub breakdown: serde_json::Value,
    pub offered_by: Option<Uuid>,
    pub offered_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub answer: Option<OfferAnswer>,
    pub answered_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    /// In the volunteer's own list: what they need to decide without another call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<OfferedRequest>,
}

/// A request as its offer shows it: the area, not the address (that comes with accepting).
#[derive(Debug, Serialize)]
pub struct OfferedRequest {
    pub service_type: OfferedServiceType,
    pub urgency: String,
    pub description: String,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    /// The grid the request is in, by name.
    pub area: Option<String>,
    /// From the volunteer's home location, in metres, when both are known.
    pub distance_m: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct OfferedServiceType {
    pub code: String,
    pub name: String,
}

fn offer_view(o: OfferRow) -> OfferView {
    OfferView {
        id: o.id,
        request_id: o.request_id,
        volunteer_id: o.volunteer_id,
        attempt: o.attempt,
        mode: o.mode,
        score: o.score,
        breakdown: o.breakdown.0,
        offered_by: o.offered_by,
        offered_at: o.offered_at,
        expires_at: o.expires_at,
        answer: o.answer,
        answered_at: o.answered_at,
        decline_reason: o.decline_reason,
        request: None,
    }
}

/// Every offer of a request with its score breakdown: staff only.
pub async fn of_request(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<Vec<OfferView>> {
    let (r, a) = load(ctx, p, id).await?;
    if a != Access::Staff {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    Ok(store::requests::offers::offers(&ctx.db, r.id)
        .await?
        .into_iter()
        .map(offer_view)
        .collect())
}

/// The caller's open offers, in every community where they volunteer.
pub async fn mine(ctx: &AppState, p: &Principal) -> ServiceResult<Vec<OfferView>> {
    let mut out = Vec::new();
    for g in p.grants.iter().filter(|g| g.role == Role::Volunteer) {
        let Some(c) = g.community_id else { continue };
        if let Some(v) =
            store::requests::candidates::volunteer_of_user(&ctx.db, p.user_id, c).await?
        {
            let me = store::registry::volunteers::get(&ctx.db, v).await?;
            for o in store::requests::offers::open_offers_of(&ctx.db, v).await? {
                let request = offered_request(ctx, o.request_id, me.lat.zip(me.lng)).await?;
                out.push(OfferView {
                    request: Some(request),
                    ..offer_view(o)
                });
            }
        }
    }
    Ok(out)
}

async fn offered_request(
    ctx: &AppState,
    id: Uuid,
    home: Option<(f64, f64)>,
) -> ServiceResult<OfferedRequest> {
    let r = store::requests::help_requests::get(&ctx.db, id).await?;
    let st = store::registry::service_types::get(&ctx.db, r.service_type_id).await?;
    let area = match r.grid_id {
        Some(g) => Some(store::registry::grids::get(&ctx.db, g).await?.row.name),
        None => None,
    };
    let distance_m = match (home, r.lat.zip(r.lng)) {
        (Some((lat, lng)), Some((rlat, rlng))) => {
            Some(score::distance_m(lat, lng, rlat, rlng).round() as i64)
        }
        _ => None,
    };
    Ok(OfferedRequest {
        service_type: OfferedServiceType {
            code: st.code,
            name: st.name,
        },
        urgency: r.urgency.as_str().to_string(),
        description: r.description,
        window_start: r.window_start,
        window_end: r.window_end,
        area,
        distance_m,
    })
}

/// The offer, if it is the caller's own; 404 for anyone else's.
async fn own_offer(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<OfferRow> {
    let o = store::requests::offers::offer(&ctx.db, id).await?;
    let mine =
        store::requests::candidates::volunteer_of_user(&ctx.db, p.user_id, o.community_id).await?;
    if mine != Some(o.volunteer_id) || !p.has(Role::Volunteer, o.community_id) {
        return Err(ServiceError::NotFound);
    }
    Ok(o)
}

/// 接单: the offered volunteer accepts; in a broadcast the first wins and the others are withdrawn.
pub async fn accept(
    ctx: &AppState,
    p: &Principal,
    offer_id: Uuid,
) -> ServiceResult<HelpRequestView> {
    let o = own_offer(ctx, p, offer_id).await?;
    if o.answer.is_some() {
        return Err(ServiceError::Conflict("offer_not_open"));
    }
    let now = store::now();
    if o.expires_at <= now {
        return Err(ServiceError::Conflict("offer_expired"));
    }
    let r = store::requests::help_requests::get(&ctx.db, o.request_id).await?;
    let v = o.volunteer_id;
    let saved = transition(
        ctx,
        &r,
        Action::Accept,
        Some(p.user_id),
        json!({"offer_id": o.id, "volunteer_id": v}),
        now,
        |n, fx| {
            n.assignee_id = Some(v);
            n.responded_at = n.responded_at.or(Some(now));
            fx.answer_offer = Some(AnswerOffer {
                offer_id: o.id,
                volunteer_id: v,
                answer: "accepted",
                reason: None,
                unexpired_at: Some(now),
            });
            fx.withdraw_open_offers = true;
            fx.load = Some((v, 1));
            fx.accepted_by = Some(v);
            fx.drop_timers.extend(["offer_expiry", "dispatch"]);
        },
    )
    .await
    .map_err(|e| match e {
        // Someone else took it first, or it was cancelled: the offer is no longer open.
        ServiceError::Conflict("state_changed") | ServiceError::Conflict("invalid_transition") => {
            ServiceError::Conflict("offer_not_open")
        }
        other => other,
    })?;
    view::get(ctx, p, saved.id).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclineInput {
    #[serde(default)]
    pub reason: Option<String>,
}

/// Declines with a reason; when no offer of the round is left open, the next round is made.
pub async fn decline(
    ctx: &AppState,
    p: &Principal,
    offer_id: Uuid,
    input: DeclineInput,
) -> ServiceResult<OfferView> {
    let o = own_offer(ctx, p, offer_id).await?;
    let why = match input.reason.as_deref().map(Text::<200>::parse) {
        Some(Ok(r)) => r.into_inner(),
        Some(Err(c)) => return Err(field_error("reason", c)),
        None => return Err(field_error("reason", "required")),
    };
    if o.answer.is_some() {
        return Err(ServiceError::Conflict("offer_not_open"));
    }
    let now = store::now();
    let r = store::requests::help_requests::get(&ctx.db, o.request_id).await?;
    let fx = Effects {
        at: now,
        answer_offer: Some(AnswerOffer {
            offer_id: o.id,
            volunteer_id: o.volunteer_id,
            answer: "declined",
            reason: Some(why.clone()),
            unexpired_at: None,
        }),
        events: vec![event(
            &r,
            "offer_declined",
            Some(p.user_id),
            None,
            None,
            json!({"offer_id": o.id, "volunteer_id": o.volunteer_id, "reason": why}),
            now,
        )],
        ..Effects::default()
    };
    let next_round = Effects {
        at: now,
        add_timers: vec![timer(&r, "dispatch", now)],
        ..Effects::default()
    };
    let (_, open) = store::requests::help_requests::answer_without_transition(
        &ctx.db,
        r.id,
        &fx,
        None,
        &next_round,
    )
    .await?;
    if open == 0
        && let Err(e) = dispatch::advance(ctx, r.id, now).await
    {
        // The decline stands; the dispatch timer written with it makes the next round.
        tracing::warn!(request_id = %r.id, error = %e, "next round after a decline failed");
    }
    Ok(offer_view(
        store::requests::offers::offer(&ctx.db, o.id).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchInput {
    /// `manual` (with `volunteer_id`), `auto` or `broadcast`.
    pub mode: String,
    #[serde(default)]
    pub volunteer_id: Option<Uuid>,
}

/// A dispatcher dispatches by hand (from the escalated queue, or to replace open offers).
pub async fn dispatch_by_hand(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: DispatchInput,
) -> ServiceResult<HelpRequestView> {
    let (r, a) = load(ctx, p, id).await?;
    if a != Access::Staff {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let mode = DispatchMode::parse(&input.mode).map_err(|c| field_error("mode", c))?;
    let rules = dispatch::rules(ctx, r.community_id).await?;
    let now = store::now();
    let picked: Vec<Ranked> = match mode {
        DispatchMode::Manual => {
            let Some(vid) = input.volunteer_id else {
                return Err(field_error("volunteer_id", "required"));
            };
            let vol = match store::registry::volunteers::get(&ctx.db, vid).await {
                Ok(v) if v.community_id == r.community_id => v,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(field_error("volunteer_id", "unknown_reference"));
                }
                Err(e) => return Err(e.into()),
            };
            if vol.status != VolunteerStatus::Active {
                return Err(field_error("volunteer_id", "volunteer_not_active"));
            }
            if store::registry::residents::exclusions(&ctx.db, r.resident_id)
                .await?
                .contains(&vid)
            {
                return Err(field_error("volunteer_id", "excluded_by_resident"));
            }
            let row = store::requests::candidates::features_of(&ctx.db, vid).await?;
            dispatch::score_rows(ctx, &rules, &r, &[row], now).await?
        }
        DispatchMode::Auto | DispatchMode::Broadcast => {
            if input.volunteer_id.is_some() {
                return Err(field_error("volunteer_id", "not_allowed"));
            }
            let st = store::registry::service_types::get(&ctx.db, r.service_type_id).await?;
            let want = if mode == DispatchMode::Broadcast {
                rules.policy.dispatch.broadcast_k as usize
            } else {
                1
            };
            let picked = dispatch::rank(ctx, &rules, &r, &st.required_skills.0, want, now).await?;
            if picked.is_empty() {
                return Err(ServiceError::Conflict("no_candidate"));
            }
            picked
        }
        DispatchMode::Claim => return Err(field_error("mode", "not_allowed")),
    };
    // Someone already offered it (another dispatcher, or the engine): theirs stands.
    if r.status == Status::Offered
        && store::requests::offers::open_offer_count(&ctx.db, r.id).await? > 0
    {
        return Err(ServiceError::Conflict("offers_open"));
    }
    let (mut n, mut fx) =
        dispatch::offer_round(&r, &rules, &picked, mode.as_str(), Some(p.user_id), now)?;
    n.dispatch_mode = mode;
    fx.events[0].kind = "dispatched_by_hand".into();
    match store::requests::help_requests::apply(&ctx.db, &n, r.version, &fx).await {
        Ok(saved) => view::get(ctx, p, saved.id).await,
        Err(StoreError::StaleVersion) => Err(ServiceError::Conflict("state_changed")),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Serialize)]
pub struct Excluded {
    pub volunteer_id: Uuid,
    pub name: String,
    pub reasons: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct Explanation {
    pub request_id: Uuid,
    pub required_skills: Vec<String>,
    /// The window the availability filter used, in the community's time zone.
    pub weekday: i64,
    pub start_minute: i64,
    pub end_minute: i64,
    /// Eligible volunteers the engine would rank now, best first, with every score term.
    pub candidates: Vec<Ranked>,
    /// Volunteers nearby or of the request's grid who did not pass, and why.
    pub excluded: Vec<Excluded>,
}

/// Why the engine would choose whom it chooses: the ranked candidates and the excluded ones.
pub async fn explain(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<Explanation> {
    let (r, a) = load(ctx, p, id).await?;
    if a != Access::Staff {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let rules = dispatch::rules(ctx, r.community_id).await?;
    let st = store::registry::service_types::get(&ctx.db, r.service_type_id).await?;
    let now = store::now();
    let f = dispatch::filters(&r, &st.required_skills.0, rules.tz, now);
    let ranked =
        dispatch::rank(ctx, &rules, &r, &st.required_skills.0, dispatch::POOL, now).await?;
    let cells = match (r.lat, r.lng) {
        (Some(lat), Some(lng)) => {
            let (y, x) = score::cell(lat, lng);
            Some((y - 3, y + 3, x - 3, x + 3))
        }
        _ => None,
    };
    let rows = store::requests::candidates::explain(&ctx.db, &f, r.grid_id, cells, 200).await?;
    let excluded = rows
        .into_iter()
        .filter(|row| !ranked.iter().any(|c| c.volunteer_id == row.id))
        .map(|row| {
            let mut reasons = Vec::new();
            if row.status != "active" {
                reasons.push("not_active");
            }
            if row.skill_matches < f.skill_count {
                reasons.push("missing_skills");
            }
            if !row.available {
                reasons.push("not_available");
            }
            if row.active_load >= row.max_concurrent {
                reasons.push("at_load_cap");
            }
            match row.previous_offer.as_deref() {
                Some("declined") => reasons.push("declined"),
                Some("expired") => reasons.push("let_expire"),
                Some("open") => reasons.push("already_offered"),
                Some("accepted") => reasons.push("served_and_returned"),
                _ => {}
            }
            if row.excluded {
                reasons.push("excluded_by_resident");
            }
            if reasons.is_empty() {
                reasons.push("ranked_lower");
            }
            Excluded {
                volunteer_id: row.id,
                name: row.name,
                reasons,
            }
        })
        .collect();
    Ok(Explanation {
        request_id: r.id,
        required_skills: st.required_skills.0,
        weekday: f.weekday,
        start_minute: f.start_minute,
        end_minute: f.end_minute,
        candidates: ranked,
        excluded,
    })
}
