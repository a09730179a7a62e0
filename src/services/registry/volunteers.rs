//! Volunteers: staff keep the register; a volunteer keeps their own availability and status.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::code::{Code, parse_code_set};
use crate::domain::geo::Coordinates;
use crate::domain::phone::Phone;
use crate::domain::role::Role;
use crate::domain::text::Name;
use crate::domain::volunteer::{VolunteerStatus, WeeklySlot, WeeklySlotDto, parse_availability};
use crate::domain::{FieldError, Fields};
use crate::services::accounts::linking;
use crate::services::registry::communities::{deny, visible};
use crate::services::{
    Page, PageRequest, ServiceError, ServiceResult, field_error, like_pattern, patch,
};
use crate::state::AppState;
use crate::store::registry::volunteers::{Slot, VolunteerFilter, VolunteerRow};
use crate::store::{self, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolunteerInput {
    pub user_id: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_grid_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Coordinates>,
    #[serde(default = "default_load")]
    pub max_concurrent: i64,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub availability: Vec<WeeklySlotDto>,
    #[serde(default)]
    pub party_member: bool,
    #[serde(default = "default_status")]
    pub status: String,
}

fn default_load() -> i64 {
    3
}
fn default_status() -> String {
    VolunteerStatus::Active.as_str().to_string()
}

/// What a volunteer may change on their own profile.
const SELF_FIELDS: &[&str] = &[
    "availability",
    "status",
    "location",
    "phone",
    "max_concurrent",
];

#[derive(Debug, Serialize)]
pub struct VolunteerView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub home_grid_id: Option<Uuid>,
    pub location: Option<Coordinates>,
    pub max_concurrent: i64,
    pub skills: Vec<String>,
    pub availability: Vec<WeeklySlotDto>,
    pub party_member: bool,
    pub status: VolunteerStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn slots_of(r: &VolunteerRow) -> Vec<WeeklySlot> {
    serde_json::from_value(r.availability.0.clone()).unwrap_or_default()
}

/// The rows of `volunteer_availability` for these windows.
fn stored_slots(slots: &[WeeklySlot]) -> Vec<Slot> {
    slots
        .iter()
        .map(|s| Slot {
            weekday: s.weekday.into(),
            start_minute: s.start_minute.into(),
            end_minute: s.end_minute.into(),
        })
        .collect()
}

fn view(r: VolunteerRow) -> VolunteerView {
    let availability = slots_of(&r).into_iter().map(WeeklySlot::to_dto).collect();
    VolunteerView {
        id: r.id,
        community_id: r.community_id,
        user_id: r.user_id,
        name: r.name,
        phone: r.phone,
        home_grid_id: r.home_grid_id,
        location: Coordinates::from_columns(r.lat, r.lng),
        max_concurrent: r.max_concurrent,
        skills: r
            .skills
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        availability,
        party_member: r.party_member,
        status: r.status,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

async fn build(
    ctx: &AppState,
    community_id: Uuid,
    i: &VolunteerInput,
    base: Option<&VolunteerRow>,
) -> ServiceResult<(VolunteerRow, Vec<Slot>)> {
    let grid_known = match i.home_grid_id {
        None => true,
        Some(g) => match store::registry::grids::get(&ctx.db, g).await {
            Ok(grid) => grid.row.community_id == community_id,
            Err(StoreError::NotFound) => false,
            Err(e) => return Err(e.into()),
        },
    };
    Ok(check(community_id, i, grid_known, base)?)
}

/// The checks of [`build`] once it is known whether the input's home grid is one of the
/// community's. Every writer of volunteer profiles (the API, a spreadsheet import) validates
/// through here.
pub(crate) fn check(
    community_id: Uuid,
    i: &VolunteerInput,
    grid_known: bool,
    base: Option<&VolunteerRow>,
) -> Result<(VolunteerRow, Vec<Slot>), Vec<FieldError>> {
    let mut f = Fields::new();
    let name = f.check("name", Name::parse(&i.name));
    let phone = f.check_opt("phone", i.phone.as_deref(), Phone::parse);
    let location = f.check_opt("location", i.location, |c| Coordinates::parse(c.lat, c.lng));
    let skills = f.check("skills", parse_code_set(&i.skills, 20));
    let status = f.check("status", VolunteerStatus::parse(&i.status));
    if !(1..=20).contains(&i.max_concurrent) {
        f.push("max_concurrent", "out_of_range");
    }
    let slots = match parse_availability(&i.availability) {
        Ok(s) => Some(s),
        Err((_, code)) if code == "too_many" || code == "overlapping_windows" => {
            f.push("availability", code);
            None
        }
        Err((n, code)) => {
            f.push(format!("availability[{n}]"), code);
            None
        }
    };
    if !grid_known {
        f.push("home_grid_id", "unknown_reference");
    }
    if base.is_some_and(|b| b.user_id != i.user_id) {
        f.push("user_id", "immutable");
    }
    let t = store::now();
    f.finish(|| {
        let slots = slots?;
        let location = location?;
        Some((
            VolunteerRow {
                id: base.map_or_else(Uuid::now_v7, |b| b.id),
                community_id,
                user_id: i.user_id,
                name: name?.into_inner(),
                phone: phone?.map(|p| p.as_str().to_string()),
                home_grid_id: i.home_grid_id,
                lat: location.map(|c| c.lat),
                lng: location.map(|c| c.lng),
                max_concurrent: i.max_concurrent,
                skills: skills?
                    .iter()
                    .map(Code::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                availability: Json(serde_json::to_value(&slots).ok()?),
                party_member: i.party_member,
                status: status?,
                version: base.map_or(1, |b| b.version),
                created_at: base.map_or(t, |b| b.created_at),
                updated_at: t,
            },
            stored_slots(&slots),
        ))
    })
}

fn duplicate_user(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict => field_error("user_id", "duplicate"),
        other => other.into(),
    }
}

pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: VolunteerInput,
) -> ServiceResult<VolunteerView> {
    visible(ctx, p, community_id).await?;
    if !p.is_staff(community_id) {
        return Err(deny(p, community_id));
    }
    let (row, slots) = build(ctx, community_id, &input, None).await?;
    linking::check(ctx, p, row.user_id, Role::Volunteer, community_id).await?;
    let saved = store::registry::volunteers::save(&ctx.db, &row, &slots, None)
        .await
        .map_err(duplicate_user)?;
    Ok(view(saved))
}

/// Staff see every volunteer of their community; a volunteer sees their own profile.
async fn load(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<VolunteerRow> {
    let r = store::registry::volunteers::get(&ctx.db, id).await?;
    if !(p.is_staff(r.community_id) || r.user_id == p.user_id) {
        return Err(ServiceError::NotFound);
    }
    Ok(r)
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<VolunteerView> {
    Ok(view(load(ctx, p, id).await?))
}

#[derive(Debug, Default)]
pub struct ListQuery {
    pub status: Option<String>,
    pub skill: Option<String>,
    pub team_id: Option<Uuid>,
    pub home_grid_id: Option<Uuid>,
    pub party_member: Option<bool>,
    pub q: Option<String>,
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    q: ListQuery,
    page: PageRequest,
) -> ServiceResult<Page<VolunteerView>> {
    visible(ctx, p, community_id).await?;
    if let Some(s) = &q.status {
        VolunteerStatus::parse(s).map_err(|c| field_error("status", c))?;
    }
    let own_only = !p.is_staff(community_id);
    if own_only && !p.has(crate::domain::role::Role::Volunteer, community_id) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let filter = VolunteerFilter {
        community_id,
        status: q.status,
        skill: q.skill,
        team_id: q.team_id,
        home_grid_id: q.home_grid_id,
        party_member: q.party_member,
        pattern: like_pattern(q.q.as_deref()),
        user_id: own_only.then_some(p.user_id),
    };
    let rows =
        store::registry::volunteers::list(&ctx.db, &filter, page.after, page.fetch_limit()).await?;
    Ok(page.page(rows, |r| r.id, view))
}

/// The input that would save `r` as it is: what an update or an import changes.
pub(crate) fn current_input(r: &VolunteerRow) -> VolunteerInput {
    VolunteerInput {
        user_id: r.user_id,
        name: r.name.clone(),
        phone: r.phone.clone(),
        home_grid_id: r.home_grid_id,
        location: Coordinates::from_columns(r.lat, r.lng),
        max_concurrent: r.max_concurrent,
        skills: r
            .skills
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        availability: slots_of(r).into_iter().map(WeeklySlot::to_dto).collect(),
        party_member: r.party_member,
        status: r.status.as_str().to_string(),
    }
}

pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &Value,
) -> ServiceResult<VolunteerView> {
    let r = load(ctx, p, id).await?;
    if !p.is_staff(r.community_id) {
        let outside = changes
            .as_object()
            .is_some_and(|o| o.keys().any(|k| !SELF_FIELDS.contains(&k.as_str())));
        let retires = changes.get("status").and_then(Value::as_str)
            == Some(VolunteerStatus::Retired.as_str());
        if outside || retires {
            return Err(ServiceError::Forbidden("forbidden_field"));
        }
    }
    let input: VolunteerInput = patch::apply(&current_input(&r), changes)?;
    let (row, slots) = build(ctx, r.community_id, &input, Some(&r)).await?;
    let saved = store::registry::volunteers::save(&ctx.db, &row, &slots, Some(version))
        .await
        .map_err(duplicate_user)?;
    Ok(view(saved))
}

/// Deactivation retires the volunteer; their history stays.
pub async fn deactivate(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: Option<i64>,
) -> ServiceResult<()> {
    let r = load(ctx, p, id).await?;
    if !p.is_staff(r.community_id) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    if r.status == VolunteerStatus::Retired {
        return Ok(());
    }
    let expected = version.unwrap_or(r.version);
    let slots = stored_slots(&slots_of(&r));
    let retired = VolunteerRow {
        status: VolunteerStatus::Retired,
        ..r
    };
    store::registry::volunteers::save(&ctx.db, &retired, &slots, Some(expected)).await?;
    Ok(())
}
