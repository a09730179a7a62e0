//! Attendance at a mobilisation: a volunteer with a confirmed place checks in and out by
//! location or by the rotating code staff show; staff record attendance by hand with a reason;
//! the sweeper closes check-ins left open for a day. Finished attendance gives pending hours.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Viewer, running, visible};
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::attendance::{self as rules, AttendanceStatus, Method};
use crate::domain::geo::Coordinates;
use crate::domain::mobilisation::{AttendanceMode, Status};
use crate::domain::text::Description;
use crate::domain::time_zone::TimeZone;
use crate::services::{ServiceError, ServiceResult, field_error, sane_time};
use crate::state::AppState;
use crate::store;
use crate::store::mobilisation::attendance::{AttendanceRow, Planned};
use crate::store::mobilisation::mobilisations::Mobilisation;

/// A check-in or check-out: `location` with `lat`/`lng`, or `code` with the six digits shown.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckInput {
    pub method: String,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lng: Option<f64>,
    #[serde(default)]
    pub code: Option<String>,
}

/// Attendance staff record by hand.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualInput {
    pub volunteer_id: Uuid,
    pub checked_in_at: DateTime<Utc>,
    pub checked_out_at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct AttendanceView {
    pub id: Uuid,
    pub mobilisation_id: Uuid,
    pub volunteer_id: Uuid,
    pub signup_id: Uuid,
    pub day: String,
    pub status: AttendanceStatus,
    pub checked_in_at: DateTime<Utc>,
    pub checked_out_at: Option<DateTime<Utc>>,
    pub check_in_method: Method,
    pub check_out_method: Option<Method>,
    pub auto_checked_out: bool,
    pub minutes: Option<i64>,
    pub reason: Option<String>,
    pub recorded_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct CodeView {
    pub mobilisation_id: Uuid,
    pub code: String,
    /// When the next code is shown.
    pub rotates_at: DateTime<Utc>,
    /// Until when this code is accepted (one window after it rotates).
    pub valid_until: DateTime<Utc>,
}

fn view(r: AttendanceRow) -> AttendanceView {
    AttendanceView {
        id: r.id,
        mobilisation_id: r.mobilisation_id,
        volunteer_id: r.volunteer_id,
        signup_id: r.signup_id,
        day: r.day,
        status: r.status,
        checked_in_at: r.checked_in_at,
        checked_out_at: r.checked_out_at,
        check_in_method: r.check_in_method,
        check_out_method: r.check_out_method,
        auto_checked_out: r.auto_checked_out,
        minutes: r.minutes,
        reason: r.reason,
        recorded_by: r.recorded_by,
        created_at: r.created_at,
    }
}

fn plan(m: &Mobilisation) -> Planned {
    Planned {
        mobilisation_id: m.row.id,
        community_id: m.row.community_id,
        title: m.row.title.clone(),
        starts_at: m.row.starts_at,
        ends_at: m.row.ends_at,
    }
}

/// The code of window `w`: a keyed hash of the mobilisation and the window, so no table holds
/// codes and every instance shows the same one.
fn code_of(ctx: &AppState, id: Uuid, w: i64) -> String {
    rules::code_from_hash(
        &ctx.vault
            .lookup_hash(&format!("huying/mobilisation-check-in/{id}/{w}")),
    )
}

async fn zone(ctx: &AppState, community_id: Uuid) -> ServiceResult<chrono_tz::Tz> {
    let c = store::registry::communities::get(&ctx.db, community_id).await?;
    Ok(TimeZone::parse(&c.time_zone).unwrap_or_default().tz())
}

/// The input's method, checked against the place or the current code.
fn verify(
    ctx: &AppState,
    m: &Mobilisation,
    i: &CheckInput,
    now: DateTime<Utc>,
) -> ServiceResult<Method> {
    let method = Method::parse(&i.method)
        .ok()
        .filter(|m| matches!(m, Method::Location | Method::Code))
        .ok_or_else(|| field_error("method", "unknown_value"))?;
    match method {
        Method::Location => {
            let mut f = Fields::new();
            if i.lat.is_none() {
                f.push("lat", "required");
            }
            if i.lng.is_none() {
                f.push("lng", "required");
            }
            let at = match (i.lat, i.lng) {
                (Some(lat), Some(lng)) => f.check("lat", Coordinates::parse(lat, lng)),
                _ => None,
            };
            let at = f.finish(|| at)?;
            let place = Coordinates::from_columns(m.row.lat, m.row.lng);
            match rules::near(place, m.row.radius_m, at) {
                Ok(()) => {}
                Err("too_far") => return Err(ServiceError::Unprocessable("too_far")),
                Err(code) => return Err(field_error("method", code)),
            }
        }
        _ => {
            let code = i
                .code
                .as_deref()
                .ok_or_else(|| field_error("code", "required"))?;
            rules::code_shape(code).map_err(|c| field_error("code", c))?;
            let w = rules::code_window(now);
            if code != code_of(ctx, m.row.id, w) && code != code_of(ctx, m.row.id, w - 1) {
                return Err(ServiceError::Unprocessable("stale_code"));
            }
        }
    }
    Ok(method)
}

/// The volunteer the caller is at this mobilisation; staff record attendance by hand instead.
fn volunteer(who: Viewer) -> ServiceResult<Uuid> {
    match who {
        Viewer::Volunteer(v) => Ok(v),
        Viewer::Staff => Err(ServiceError::Forbidden("forbidden")),
    }
}

pub async fn check_in(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: CheckInput,
) -> ServiceResult<AttendanceView> {
    let (m, who) = visible(ctx, p, id).await?;
    let volunteer_id = volunteer(who)?;
    let now = store::now();
    let r = &m.row;
    if r.attendance_mode == AttendanceMode::None {
        return Err(ServiceError::Conflict("attendance_not_required"));
    }
    if !running(r.status) {
        return Err(ServiceError::Conflict("check_in_not_open"));
    }
    rules::may_check_in(r.attendance_mode, r.starts_at, r.ends_at, now)
        .map_err(ServiceError::Conflict)?;
    let method = verify(ctx, &m, &input, now)?;
    let tz = zone(ctx, r.community_id).await?;
    let once = r.attendance_mode == AttendanceMode::CheckIn;
    let row = AttendanceRow {
        id: Uuid::now_v7(),
        mobilisation_id: id,
        community_id: r.community_id,
        volunteer_id,
        signup_id: Uuid::nil(),
        day: rules::local_day(now, tz),
        status: if once {
            AttendanceStatus::Closed
        } else {
            AttendanceStatus::Open
        },
        checked_in_at: now,
        checked_out_at: None,
        check_in_method: method,
        check_out_method: None,
        auto_checked_out: false,
        minutes: None,
        reason: None,
        recorded_by: Some(p.user_id),
        created_at: now,
    };
    // In `check_in` mode the check-in is the attendance: the planned hours.
    let pl = plan(&m);
    let entry = once
        .then(|| {
            pl.entry(
                row.id,
                volunteer_id,
                r.starts_at,
                r.ends_at,
                Some(p.user_id),
                now,
            )
        })
        .flatten();
    let mut row = row;
    if once {
        row.minutes = Some(entry.as_ref().map_or(0, |e| e.minutes));
    }
    let row =
        store::mobilisation::attendance::check_in(&ctx.db, &row, once, entry.as_ref()).await?;
    Ok(view(row))
}

pub async fn check_out(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: CheckInput,
) -> ServiceResult<AttendanceView> {
    let (m, who) = visible(ctx, p, id).await?;
    let volunteer_id = volunteer(who)?;
    if m.row.attendance_mode != AttendanceMode::CheckInOut {
        return Err(ServiceError::Conflict("attendance_not_required"));
    }
    let now = store::now();
    let method = verify(ctx, &m, &input, now)?;
    let row = store::mobilisation::attendance::check_out(
        &ctx.db,
        &plan(&m),
        volunteer_id,
        method,
        p.user_id,
        now,
    )
    .await?;
    Ok(view(row))
}

/// Staff see every row; a volunteer their own.
pub async fn list(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<Vec<AttendanceView>> {
    let (_, who) = visible(ctx, p, id).await?;
    let only = match who {
        Viewer::Staff => None,
        Viewer::Volunteer(v) => Some(v),
    };
    let rows = store::mobilisation::attendance::list(&ctx.db, id, only).await?;
    Ok(rows.into_iter().map(view).collect())
}

/// Staff record a finished attendance by hand (a volunteer without a phone, a check-out
/// forgotten), with the reason; it gives its pending hours like any other.
pub async fn record(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: ManualInput,
) -> ServiceResult<AttendanceView> {
    let (m, who) = visible(ctx, p, id).await?;
    if !matches!(who, Viewer::Staff) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let r = &m.row;
    let mut f = Fields::new();
    let reason = f.check("reason", Description::parse(&input.reason));
    for (field, t) in [
        ("checked_in_at", input.checked_in_at),
        ("checked_out_at", input.checked_out_at),
    ] {
        if !sane_time(t) {
            f.push(field, "out_of_range");
        }
    }
    if input.checked_out_at <= input.checked_in_at {
        f.push("checked_out_at", "end_before_start");
    }
    let known = store::registry::volunteers::get(&ctx.db, input.volunteer_id)
        .await
        .is_ok_and(|v| v.community_id == r.community_id);
    if !known {
        f.push("volunteer_id", "unknown_reference");
    }
    let reason = f.finish(|| reason)?;
    if r.attendance_mode == AttendanceMode::None {
        return Err(ServiceError::Conflict("attendance_not_required"));
    }
    if matches!(r.status, Status::Draft | Status::Cancelled) {
        return Err(ServiceError::Conflict("invalid_transition"));
    }
    let tz = zone(ctx, r.community_id).await?;
    let now = store::now();
    let mut row = AttendanceRow {
        id: Uuid::now_v7(),
        mobilisation_id: id,
        community_id: r.community_id,
        volunteer_id: input.volunteer_id,
        signup_id: Uuid::nil(),
        day: rules::local_day(input.checked_in_at, tz),
        status: AttendanceStatus::Closed,
        checked_in_at: input.checked_in_at,
        checked_out_at: Some(input.checked_out_at),
        check_in_method: Method::Manual,
        check_out_method: Some(Method::Manual),
        auto_checked_out: false,
        minutes: None,
        reason: Some(reason.into_inner()),
        recorded_by: Some(p.user_id),
        created_at: now,
    };
    let entry = plan(&m).entry(
        row.id,
        row.volunteer_id,
        input.checked_in_at,
        input.checked_out_at,
        Some(p.user_id),
        now,
    );
    row.minutes = Some(entry.as_ref().map_or(0, |e| e.minutes));
    let row = store::mobilisation::attendance::record(&ctx.db, &row, entry.as_ref()).await?;
    Ok(view(row))
}

/// The code staff show at the site; it changes every minute.
pub async fn code(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<CodeView> {
    let (m, who) = visible(ctx, p, id).await?;
    if !matches!(who, Viewer::Staff) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    if m.row.attendance_mode == AttendanceMode::None {
        return Err(ServiceError::Conflict("attendance_not_required"));
    }
    let w = rules::code_window(store::now());
    Ok(CodeView {
        mobilisation_id: id,
        code: code_of(ctx, id, w),
        rotates_at: rules::window_start(w + 1),
        valid_until: rules::window_start(w + 2),
    })
}

/// The sweeper's step: closes check-ins left open for a day at their planned end, a batch at a
/// time until none is due; returns how many.
pub async fn auto_check_out(ctx: &AppState, now: DateTime<Utc>) -> ServiceResult<usize> {
    const BATCH: i64 = 200;
    let before = now - rules::AUTO_CLOSE_AFTER;
    let mut total = 0;
    loop {
        let n = store::mobilisation::attendance::auto_close(&ctx.db, before, now, BATCH).await?;
        total += n;
        if (n as i64) < BATCH {
            return Ok(total);
        }
    }
}
