//! Planning an activity with its sessions (a list, or a weekly rule in the community's time
//! zone), its small lifecycle, and holding a session (which gives its carers pending hours).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Carers, Viewer, runs, visible};
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::activity::{self as rules, Action, Kind, SessionStatus, Status, WeeklyRule};
use crate::domain::text::{AddressLine, Description, Name};
use crate::domain::time_zone::TimeZone;
use crate::services::registry::communities::deny;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, sane_time};
use crate::state::AppState;
use crate::store;
use crate::store::activities::plans::{ActivityRow, SessionRow};
use crate::store::records::hours_entries::HoursEntryRow;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Weekly on `weekdays` (1 = Monday … 7 = Sunday), `start_time`–`end_time` local, `from`–`to`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    pub weekdays: Vec<u32>,
    pub start_time: String,
    pub end_time: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    pub kind: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub place: Option<String>,
    #[serde(default)]
    pub capacity: Option<i64>,
    #[serde(default)]
    pub min_age: Option<i64>,
    #[serde(default)]
    pub max_age: Option<i64>,
    #[serde(default)]
    pub sessions: Option<Vec<SessionInput>>,
    #[serde(default)]
    pub schedule: Option<ScheduleInput>,
    #[serde(default)]
    pub carers: Carers,
}

#[derive(Debug, Serialize)]
pub struct ActivityView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub kind: Kind,
    pub title: String,
    pub description: Option<String>,
    pub place: Option<String>,
    pub capacity: i64,
    pub confirmed: i64,
    pub min_age: Option<i64>,
    pub max_age: Option<i64>,
    pub carers: Carers,
    pub status: Status,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub id: Uuid,
    pub activity_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: SessionStatus,
    pub held_at: Option<DateTime<Utc>>,
}

pub(crate) fn view(a: ActivityRow) -> ActivityView {
    let carers = Carers::of(&a);
    ActivityView {
        id: a.id,
        community_id: a.community_id,
        kind: a.kind,
        title: a.title,
        description: a.description,
        place: a.place,
        capacity: a.capacity,
        confirmed: a.confirmed,
        min_age: a.min_age,
        max_age: a.max_age,
        carers,
        status: a.status,
        version: a.version,
        created_at: a.created_at,
        updated_at: a.updated_at,
    }
}

pub(crate) fn session_view(s: SessionRow) -> SessionView {
    SessionView {
        id: s.id,
        activity_id: s.activity_id,
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        status: s.status,
        held_at: s.held_at,
    }
}

/// The sessions asked for: exactly one of a list or a weekly rule.
fn sessions_of(f: &mut Fields, i: &ActivityInput, tz: chrono_tz::Tz) -> Option<Vec<rules::Window>> {
    match (&i.sessions, &i.schedule) {
        (Some(list), None) => {
            if list.is_empty() {
                f.push("sessions", "required");
            } else if list.len() > rules::MAX_SESSIONS {
                f.push("sessions", "too_many");
            }
            let mut ok = true;
            for (n, s) in list.iter().enumerate() {
                if !sane_time(s.starts_at) || !sane_time(s.ends_at) {
                    f.push(format!("sessions[{n}].starts_at"), "out_of_range");
                    ok = false;
                } else if let Err(code) = rules::session(s.starts_at, s.ends_at) {
                    f.push(format!("sessions[{n}].ends_at"), code);
                    ok = false;
                }
            }
            ok.then(|| list.iter().map(|s| (s.starts_at, s.ends_at)).collect())
        }
        (None, Some(r)) => {
            let start = f.check("schedule.start_time", time(&r.start_time));
            let end = f.check("schedule.end_time", time(&r.end_time));
            let (start, end) = (start?, end?);
            if !(2000..2100).contains(&chrono::Datelike::year(&r.from))
                || !(2000..2100).contains(&chrono::Datelike::year(&r.to))
            {
                f.push("schedule.from", "out_of_range");
                return None;
            }
            let rule = WeeklyRule {
                weekdays: r.weekdays.clone(),
                start,
                end,
                from: r.from,
                to: r.to,
            };
            f.check("schedule", rules::expand(&rule, tz))
        }
        (Some(_), Some(_)) => {
            f.push("schedule", "not_allowed_with_sessions");
            None
        }
        (None, None) => {
            f.push("sessions", "required");
            None
        }
    }
}

fn time(s: &str) -> Result<NaiveTime, &'static str> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| "invalid_time")
}

async fn validate(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    tz: chrono_tz::Tz,
    i: &ActivityInput,
) -> ServiceResult<(ActivityRow, Vec<SessionRow>)> {
    let mut f = Fields::new();
    let kind = f.check("kind", Kind::parse(&i.kind));
    let title = f.check("title", Name::parse(&i.title));
    let description = f.check_opt("description", i.description.as_deref(), Description::parse);
    let place = f.check_opt("place", i.place.as_deref(), AddressLine::parse);
    let capacity = f.check("capacity", rules::capacity(i.capacity));
    let min_age = f.check("min_age", rules::age_bound(i.min_age));
    let max_age = f.check("max_age", rules::age_bound(i.max_age));
    if let (Some(Some(lo)), Some(Some(hi))) = (min_age, max_age)
        && hi < lo
    {
        f.push("max_age", "out_of_range");
    }
    let times = sessions_of(&mut f, i, tz);
    let c = &i.carers;
    if c.volunteer_ids.len() + c.user_ids.len() > 50 {
        f.push("carers", "too_many");
    } else {
        for (n, v) in c.volunteer_ids.iter().enumerate() {
            let ok = store::registry::volunteers::get(&ctx.db, *v)
                .await
                .is_ok_and(|v| v.community_id == community_id);
            if !ok {
                f.push(format!("carers.volunteer_ids[{n}]"), "unknown_reference");
            }
        }
        for (n, u) in c.user_ids.iter().enumerate() {
            let grants = store::accounts::users::grants(&ctx.db, *u).await?;
            if !grants.iter().any(|g| g.community_id == Some(community_id)) {
                f.push(format!("carers.user_ids[{n}]"), "unknown_reference");
            }
        }
    }
    let id = Uuid::now_v7();
    let t = store::now();
    let row = f.finish(|| {
        Some(ActivityRow {
            id,
            community_id,
            kind: kind?,
            title: title?.into_inner(),
            description: description?.map(|d| d.into_inner()),
            place: place?.map(|a| a.into_inner()),
            capacity: capacity?,
            min_age: min_age?,
            max_age: max_age?,
            carers: Json(serde_json::to_value(c).ok()?),
            status: Status::Draft,
            confirmed: 0,
            next_queue_no: 1,
            created_by: p.user_id,
            version: 1,
            created_at: t,
            updated_at: t,
        })
    })?;
    let mut times = times.unwrap_or_default();
    times.sort();
    let sessions = times
        .into_iter()
        .map(|(starts_at, ends_at)| SessionRow {
            id: Uuid::now_v7(),
            activity_id: id,
            community_id,
            starts_at,
            ends_at,
            status: SessionStatus::Scheduled,
            held_at: None,
            held_by: None,
        })
        .collect();
    Ok((row, sessions))
}

pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: ActivityInput,
) -> ServiceResult<ActivityView> {
    let c = crate::services::registry::communities::visible(ctx, p, community_id).await?;
    if !p.is_staff(community_id) {
        return Err(deny(p, community_id));
    }
    let tz = TimeZone::parse(&c.time_zone).unwrap_or_default().tz();
    let (row, sessions) = validate(ctx, p, community_id, tz, &input).await?;
    store::activities::plans::insert(&ctx.db, &row, &sessions).await?;
    Ok(view(store::activities::plans::get(&ctx.db, row.id).await?))
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<ActivityView> {
    Ok(view(visible(ctx, p, id).await?.0))
}

/// Staff see every activity of their community; its other members the published ones (and a
/// carer the drafts they care for).
pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    page: PageRequest,
) -> ServiceResult<Page<ActivityView>> {
    crate::services::registry::communities::visible(ctx, p, community_id).await?;
    let staff = p.is_staff(community_id);
    let rows = store::activities::plans::list(
        &ctx.db,
        community_id,
        page.after,
        staff,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |r| r.id, view))
}

/// One lifecycle move by staff.
pub async fn act(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    action: Action,
) -> ServiceResult<ActivityView> {
    let (a, who) = visible(ctx, p, id).await?;
    if who != Viewer::Staff {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let to = rules::next(a.status, action).map_err(ServiceError::Conflict)?;
    store::activities::plans::transition(&ctx.db, id, a.status, to, store::now()).await?;
    Ok(view(store::activities::plans::get(&ctx.db, id).await?))
}

pub async fn sessions(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<Vec<SessionView>> {
    visible(ctx, p, id).await?;
    let rows = store::activities::plans::sessions(&ctx.db, id).await?;
    Ok(rows.into_iter().map(session_view).collect())
}

/// The session, with its activity, to staff and the activity's carers (members: 403).
pub(crate) async fn run_session(
    ctx: &AppState,
    p: &Principal,
    session_id: Uuid,
) -> ServiceResult<(SessionRow, ActivityRow)> {
    let s = store::activities::plans::session(&ctx.db, session_id).await?;
    let a = runs(ctx, p, s.activity_id).await?;
    if a.status != Status::Published {
        return Err(ServiceError::Conflict("not_open"));
    }
    Ok((s, a))
}

/// Marks a session held (once it has started): each volunteer carer gets a pending hours entry.
pub async fn hold(ctx: &AppState, p: &Principal, session_id: Uuid) -> ServiceResult<SessionView> {
    let (s, a) = run_session(ctx, p, session_id).await?;
    let now = store::now();
    if now < s.starts_at {
        return Err(ServiceError::Conflict("not_started"));
    }
    let content = format!("{}：{}", kind_label(a.kind), a.title);
    let hours: Vec<HoursEntryRow> = Carers::of(&a)
        .volunteer_ids
        .into_iter()
        .map(|v| {
            HoursEntryRow::pending(
                a.community_id,
                v,
                "activity",
                a.id,
                s.id,
                content.clone(),
                s.starts_at,
                s.ends_at,
                Some(p.user_id),
                now,
            )
        })
        .collect();
    let row = store::activities::plans::hold(&ctx.db, s.id, p.user_id, now, &hours).await?;
    Ok(session_view(row))
}

fn kind_label(k: Kind) -> &'static str {
    match k {
        Kind::Class => "课堂",
        Kind::Childcare => "托管",
        Kind::Event => "活动",
    }
}
