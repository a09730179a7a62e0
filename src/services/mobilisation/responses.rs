//! Whom a mobilisation calls (as one query, whatever its size), the volunteers' "can't come",
//! and the live counts a dispatcher watches: coming, can't, no answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::mobilisations::Audience;
use super::{Viewer, visible};
use crate::auth::Principal;
use crate::domain::audience::weekly_windows;
use crate::domain::text::Description;
use crate::domain::time_zone::TimeZone;
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store;
use crate::store::mobilisation::responses::{Reach, ResponseRow};

/// A mobilisation's audience, ready to be asked for: the names it chose and, when the
/// volunteers' weekly hours count, the windows its time touches.
#[derive(Debug)]
pub(crate) struct Call {
    community_id: Uuid,
    audience: Audience,
    windows: Option<Vec<(i64, i64, i64)>>,
}

impl Call {
    pub(crate) fn reach(&self) -> Reach<'_> {
        Reach {
            community_id: self.community_id,
            grid_ids: &self.audience.grid_ids,
            team_ids: &self.audience.team_ids,
            skills: &self.audience.skills,
            windows: self.windows.as_deref(),
        }
    }
}

/// The audience named by `audience` (the mobilisation's `audience` column). With `hours`
/// (`starts_at`, `ends_at`), only the volunteers free then by their weekly hours in the
/// community's zone, or who declared none: whom a non-emergency call reaches.
pub(crate) async fn call(
    ctx: &AppState,
    community_id: Uuid,
    audience: &Value,
    hours: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> ServiceResult<Call> {
    let audience: Audience = serde_json::from_value(audience.clone()).unwrap_or_default();
    let windows = match hours {
        None => None,
        Some((starts_at, ends_at)) => {
            let zone = zone(ctx, community_id).await?;
            Some(weekly_windows(starts_at, ends_at, &zone.tz()))
        }
    };
    Ok(Call {
        community_id,
        audience,
        windows,
    })
}

/// `at` as the community's clock shows it (`2030-07-01 16:00`), for the words of a notice.
pub(crate) async fn local_time(
    ctx: &AppState,
    community_id: Uuid,
    at: DateTime<Utc>,
) -> ServiceResult<String> {
    Ok(at
        .with_timezone(&zone(ctx, community_id).await?.tz())
        .format("%Y-%m-%d %H:%M")
        .to_string())
}

async fn zone(ctx: &AppState, community_id: Uuid) -> ServiceResult<TimeZone> {
    match store::registry::communities::get(&ctx.db, community_id).await {
        Ok(c) => Ok(TimeZone::parse(&c.time_zone).unwrap_or_default()),
        Err(store::StoreError::NotFound) => Ok(TimeZone::default()),
        Err(e) => Err(e.into()),
    }
}

/// Whom the publication of a mobilisation tells: an emergency every matching volunteer at once,
/// anything else those free at its time.
pub(crate) async fn told(
    ctx: &AppState,
    community_id: Uuid,
    emergency: bool,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    audience: &Value,
) -> ServiceResult<Call> {
    let hours = (!emergency).then_some((starts_at, ends_at));
    call(ctx, community_id, audience, hours).await
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclineInput {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ResponseView {
    pub mobilisation_id: Uuid,
    pub volunteer_id: Uuid,
    pub answer: String,
    pub reason: Option<String>,
    pub answered_at: DateTime<Utc>,
}

fn view(r: ResponseRow) -> ResponseView {
    ResponseView {
        mobilisation_id: r.mobilisation_id,
        volunteer_id: r.volunteer_id,
        answer: r.answer,
        reason: r.reason,
        answered_at: r.answered_at,
    }
}

/// A volunteer of the audience says they can't come; signing up later undoes it.
pub async fn decline(
    ctx: &AppState,
    p: &Principal,
    mobilisation_id: Uuid,
    input: DeclineInput,
) -> ServiceResult<ResponseView> {
    let (m, who) = visible(ctx, p, mobilisation_id).await?;
    // Staff answer for nobody: a volunteer's "can't" is theirs to give.
    let Viewer::Volunteer(volunteer_id) = who else {
        return Err(ServiceError::Forbidden("forbidden"));
    };
    let reason = match input.reason.as_deref() {
        None => None,
        Some(r) => Some(
            Description::parse(r)
                .map_err(|c| field_error("reason", c))?
                .into_inner(),
        ),
    };
    let row = store::mobilisation::responses::decline(
        &ctx.db,
        mobilisation_id,
        volunteer_id,
        m.row.community_id,
        reason.as_deref(),
        store::now(),
    )
    .await?;
    Ok(view(row))
}

#[derive(Debug, Serialize)]
pub struct SlotCounts {
    pub slot_id: Uuid,
    pub title: String,
    pub count: i64,
    pub confirmed: i64,
    pub waiting: i64,
}

#[derive(Debug, Serialize)]
pub struct Counts {
    pub mobilisation_id: Uuid,
    /// The volunteers the call reached (an emergency: every matching one; else those free).
    pub audience: i64,
    /// Confirmed and waiting sign-ups, whoever they are.
    pub coming: i64,
    pub cant: i64,
    /// Volunteers of the audience neither coming nor declining.
    pub no_answer: i64,
    pub slots: Vec<SlotCounts>,
    pub at: DateTime<Utc>,
}

/// The live counts, to staff of the mobilisation's community.
pub async fn counts(ctx: &AppState, p: &Principal, mobilisation_id: Uuid) -> ServiceResult<Counts> {
    let (m, who) = visible(ctx, p, mobilisation_id).await?;
    if !matches!(who, Viewer::Staff) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let at = store::now();
    let r = &m.row;
    let c = told(
        ctx,
        r.community_id,
        r.kind == crate::domain::mobilisation::Kind::Emergency,
        r.starts_at,
        r.ends_at,
        &r.audience.0,
    )
    .await?;
    let (reached, reached_coming, reached_cant) =
        store::mobilisation::responses::reach_answers(&ctx.db, &c.reach(), mobilisation_id).await?;
    let (coming, cant) = store::mobilisation::responses::totals(&ctx.db, mobilisation_id).await?;
    let slots = m
        .slots
        .into_iter()
        .zip(m.waiting.into_iter().chain(std::iter::repeat(0)))
        .map(|(s, waiting)| SlotCounts {
            slot_id: s.id,
            title: s.title,
            count: s.capacity,
            confirmed: s.confirmed,
            waiting,
        })
        .collect();
    Ok(Counts {
        mobilisation_id,
        audience: reached,
        coming,
        cant,
        no_answer: (reached - reached_coming - reached_cant).max(0),
        slots,
        at,
    })
}
