//! Completing a visit: how the resident is and what was seen, the needs found (each a
//! proactive help request dispatched like any other), an urgent finding with the grade it
//! raises and its follow-up, and a volunteer's hours.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::access::{load, team_only};
use super::generation::{ad_hoc_visit, generate_or_log};
use super::visits::{VisitView, event, moved, opened, stale, view};
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::grading::raised;
use crate::domain::help_request::{Channel, DispatchMode, Origin, PlacedAs};
use crate::domain::text::{Description, Text};
use crate::domain::urgency::Urgency;
use crate::domain::visit::{Action, Condition, ContactKind, GradeSource, Reason, local_day};
use crate::services::requests::placing::{NewRequest, found_need};
use crate::services::visits::grading::{policy_and_zone, replan_for};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::requests::help_requests::{Effects, HelpRequestRow};
use crate::store::visits::grades::{GradeChangeRow, GradeUpdate};
use crate::store::visits::visits::{VisitChange, VisitRow};
use crate::store::{self, StoreError};

type Observations = Text<2000>;

const MAX_NEEDS: usize = 10;

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
    n.performed_contact_kind = Some(kind);
    n.duration_minutes = Some(input.duration_minutes);
    n.condition = Some(condition);
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
