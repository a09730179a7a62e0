//! Planning a mobilisation and moving it draft → published → closed → completed, or cancelled.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Viewer, in_audience, viewer, visible};
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::geo::Coordinates;
use crate::domain::mobilisation::{self as rules, Action, AttendanceMode, Kind, Status};
use crate::domain::text::{AddressLine, Description, Name};
use crate::services::registry::communities::deny;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, sane_time};
use crate::state::AppState;
use crate::store;
use crate::store::mobilisation::EventRow;
use crate::store::mobilisation::mobilisations::{Mobilisation, MobilisationRow, SlotRow};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    #[serde(default)]
    pub grid_ids: Vec<Uuid>,
    #[serde(default)]
    pub team_ids: Vec<Uuid>,
    #[serde(default)]
    pub skills: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotInput {
    pub title: String,
    #[serde(default)]
    pub skill: Option<String>,
    #[serde(default)]
    pub count: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MobilisationInput {
    pub title: String,
    pub kind: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub location: Option<Coordinates>,
    #[serde(default)]
    pub check_in_radius_m: Option<i64>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[serde(default)]
    pub signup_deadline: Option<DateTime<Utc>>,
    #[serde(default)]
    pub attendance_mode: Option<String>,
    pub slots: Vec<SlotInput>,
    #[serde(default)]
    pub audience: Audience,
}

#[derive(Debug, Serialize)]
pub struct SlotView {
    pub id: Uuid,
    pub title: String,
    pub skill: Option<String>,
    pub count: i64,
    pub confirmed: i64,
    pub waiting: i64,
}

#[derive(Debug, Serialize)]
pub struct MobilisationView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub title: String,
    pub kind: Kind,
    pub description: Option<String>,
    pub address: Option<String>,
    pub location: Option<Coordinates>,
    pub check_in_radius_m: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub signup_deadline: Option<DateTime<Utc>>,
    pub attendance_mode: AttendanceMode,
    pub audience: serde_json::Value,
    pub slots: Vec<SlotView>,
    pub status: Status,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(m: Mobilisation) -> MobilisationView {
    let r = m.row;
    let slots = m
        .slots
        .into_iter()
        .zip(m.waiting.into_iter().chain(std::iter::repeat(0)))
        .map(|(s, waiting)| SlotView {
            id: s.id,
            title: s.title,
            skill: s.skill,
            count: s.capacity,
            confirmed: s.confirmed,
            waiting,
        })
        .collect();
    MobilisationView {
        id: r.id,
        community_id: r.community_id,
        title: r.title,
        kind: r.kind,
        description: r.description,
        address: r.address,
        location: Coordinates::from_columns(r.lat, r.lng),
        check_in_radius_m: r.radius_m,
        starts_at: r.starts_at,
        ends_at: r.ends_at,
        signup_deadline: r.signup_deadline,
        attendance_mode: r.attendance_mode,
        audience: r.audience.0,
        slots,
        status: r.status,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// The list view carries no slot counts.
fn brief(r: MobilisationRow) -> MobilisationView {
    view(Mobilisation {
        row: r,
        slots: vec![],
        waiting: vec![],
    })
}

async fn validate(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    i: &MobilisationInput,
) -> ServiceResult<(MobilisationRow, Vec<SlotRow>)> {
    let mut f = Fields::new();
    let title = f.check("title", Name::parse(&i.title));
    let kind = f.check("kind", Kind::parse(&i.kind));
    let description = f.check_opt("description", i.description.as_deref(), Description::parse);
    let address = f.check_opt("address", i.address.as_deref(), AddressLine::parse);
    let location = match i.location {
        Some(l) => f
            .check("location", Coordinates::parse(l.lat, l.lng))
            .map(Some),
        None => Some(None),
    };
    let radius = f.check("check_in_radius_m", rules::radius(i.check_in_radius_m));
    let mode = match i.attendance_mode.as_deref() {
        None => Some(AttendanceMode::None),
        Some(m) => f.check("attendance_mode", AttendanceMode::parse(m)),
    };
    for (field, t) in [
        ("starts_at", Some(i.starts_at)),
        ("ends_at", Some(i.ends_at)),
        ("signup_deadline", i.signup_deadline),
    ] {
        if t.is_some_and(|t| !sane_time(t)) {
            f.push(field, "out_of_range");
        }
    }
    f.check("ends_at", rules::window(i.starts_at, i.ends_at));
    f.check(
        "signup_deadline",
        rules::deadline(i.signup_deadline, i.ends_at),
    );
    if i.slots.is_empty() {
        f.push("slots", "required");
    } else if i.slots.len() > rules::MAX_SLOTS {
        f.push("slots", "too_many");
    }
    let id = Uuid::now_v7();
    let mut slots = Vec::new();
    for (n, s) in i.slots.iter().enumerate() {
        let title = f.check(&format!("slots[{n}].title"), Name::parse(&s.title));
        let skill = f.check_opt(
            &format!("slots[{n}].skill"),
            s.skill.as_deref(),
            Name::parse,
        );
        let count = f.check(&format!("slots[{n}].count"), rules::slot_count(s.count));
        if let (Some(title), Some(skill), Some(count)) = (title, skill, count) {
            slots.push(SlotRow {
                id: Uuid::now_v7(),
                mobilisation_id: id,
                ord: n as i64,
                title: title.into_inner(),
                skill: skill.map(|s| s.into_inner()),
                capacity: count,
                confirmed: 0,
                next_queue_no: 1,
            });
        }
    }
    let a = &i.audience;
    if a.grid_ids.len() + a.team_ids.len() + a.skills.len() > 200 {
        f.push("audience", "too_many");
    } else {
        for (n, g) in a.grid_ids.iter().enumerate() {
            let ok = store::registry::grids::get(&ctx.db, *g)
                .await
                .is_ok_and(|g| g.row.community_id == community_id);
            if !ok {
                f.push(format!("audience.grid_ids[{n}]"), "unknown_reference");
            }
        }
        for (n, t) in a.team_ids.iter().enumerate() {
            let ok = store::registry::teams::get(&ctx.db, *t)
                .await
                .is_ok_and(|t| t.row.community_id == community_id);
            if !ok {
                f.push(format!("audience.team_ids[{n}]"), "unknown_reference");
            }
        }
        for (n, s) in a.skills.iter().enumerate() {
            f.check(&format!("audience.skills[{n}]"), Name::parse(s));
        }
    }
    let t = store::now();
    let row = f.finish(|| {
        let location = location?;
        Some(MobilisationRow {
            id,
            community_id,
            title: title?.into_inner(),
            kind: kind?,
            description: description?.map(|d| d.into_inner()),
            address: address?.map(|a| a.into_inner()),
            lat: location.map(|l| l.lat),
            lng: location.map(|l| l.lng),
            radius_m: radius?,
            starts_at: i.starts_at,
            ends_at: i.ends_at,
            signup_deadline: i.signup_deadline,
            attendance_mode: mode?,
            audience: Json(serde_json::to_value(a).ok()?),
            status: Status::Draft,
            created_by: p.user_id,
            version: 1,
            created_at: t,
            updated_at: t,
        })
    })?;
    Ok((row, slots))
}

pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: MobilisationInput,
) -> ServiceResult<MobilisationView> {
    crate::services::registry::communities::visible(ctx, p, community_id).await?;
    if !p.is_staff(community_id) {
        return Err(deny(p, community_id));
    }
    let (row, slots) = validate(ctx, p, community_id, &input).await?;
    let event = EventRow::new(
        row.id,
        community_id,
        "created",
        Some(p.user_id),
        json!({"kind": row.kind}),
        row.created_at,
    );
    store::mobilisation::mobilisations::insert(&ctx.db, &row, &slots, &event).await?;
    Ok(view(
        store::mobilisation::mobilisations::get(&ctx.db, row.id).await?,
    ))
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<MobilisationView> {
    Ok(view(visible(ctx, p, id).await?.0))
}

/// Staff see every mobilisation of their community; volunteers the published ones they are in
/// the audience of.
pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    page: PageRequest,
) -> ServiceResult<Page<MobilisationView>> {
    crate::services::registry::communities::visible(ctx, p, community_id).await?;
    let who = viewer(ctx, p, community_id).await?;
    let staff = matches!(who, Viewer::Staff);
    let rows = store::mobilisation::mobilisations::list(
        &ctx.db,
        community_id,
        page.after,
        staff,
        page.fetch_limit(),
    )
    .await?;
    let mut shown = Vec::with_capacity(rows.len());
    for r in rows {
        let keep = match who {
            Viewer::Staff => true,
            Viewer::Volunteer(v) => in_audience(ctx, &r, v).await?,
        };
        // The page's end is decided on the rows read, so a hidden row still moves the cursor.
        shown.push((r, keep));
    }
    let mut out = page.page(shown, |(r, _)| r.id, |x| x);
    Ok(Page {
        items: out
            .items
            .drain(..)
            .filter(|(_, keep)| *keep)
            .map(|(r, _)| brief(r))
            .collect(),
        next_after: out.next_after,
    })
}

/// One lifecycle move by staff, with its event (`mobilisation.published`, …) in the outbox.
pub async fn act(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    action: Action,
) -> ServiceResult<MobilisationView> {
    let (m, who) = visible(ctx, p, id).await?;
    if !matches!(who, Viewer::Staff) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let from = m.row.status;
    let to = rules::next(from, action).map_err(ServiceError::Conflict)?;
    let event = EventRow::new(
        id,
        m.row.community_id,
        action.event(),
        Some(p.user_id),
        json!({"from_status": from, "to_status": to, "kind": m.row.kind,
               "audience": m.row.audience.0}),
        store::now(),
    );
    if action == Action::Complete && m.row.attendance_mode == AttendanceMode::None {
        // Without attendance the plan is the attendance: confirmed places earn pending hours.
        let plan = store::mobilisation::attendance::Planned {
            mobilisation_id: id,
            community_id: m.row.community_id,
            title: m.row.title.clone(),
            starts_at: m.row.starts_at,
            ends_at: m.row.ends_at,
        };
        store::mobilisation::attendance::complete_crediting(&ctx.db, &plan, from, &event).await?;
    } else {
        store::mobilisation::mobilisations::transition(&ctx.db, id, from, to, &event).await?;
    }
    Ok(view(
        store::mobilisation::mobilisations::get(&ctx.db, id).await?,
    ))
}
