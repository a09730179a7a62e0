//! Residents: who may see them, masking of personal numbers, audited full reads.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::care::CareCategory;
use crate::domain::geo::Coordinates;
use crate::domain::help_request::PlacedAs;
use crate::domain::mask::mask_phone;
use crate::domain::role::Role;
use crate::services::accounts::linking;
use crate::services::registry::communities::{deny, visible};
use crate::services::registry::resident_hooks::GradeOnSave;
use crate::services::{
    Page, PageRequest, ServiceError, ServiceResult, field_error, like_pattern, patch,
};
use crate::state::AppState;
use crate::store::audit::NewAudit;
use crate::store::registry::residents::{ResidentFilter, ResidentRow};
use crate::store::{self, StoreError};

use super::resident_input::build;
pub use super::resident_input::{Consent, EmergencyContact, ResidentInput};
pub(crate) use super::resident_input::{check, current_input};

#[derive(Debug, Serialize)]
pub struct ResidentView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub grid_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub name: String,
    pub gender: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub id_card_number: Option<String>,
    /// True when phone and ID numbers are shown in full (an audited read).
    pub revealed: bool,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
    pub address: Option<String>,
    pub location: Option<Coordinates>,
    pub emergency_contacts: Vec<EmergencyContact>,
    pub care_categories: Vec<String>,
    pub care_level: Option<String>,
    pub consent: Consent,
    pub notes: Option<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(super) fn contacts_of(r: &ResidentRow) -> Vec<EmergencyContact> {
    serde_json::from_value(r.emergency_contacts.0.clone()).unwrap_or_default()
}

/// What every role that may see the resident gets: numbers masked.
fn masked(r: ResidentRow) -> ResidentView {
    let mut contacts = contacts_of(&r);
    for c in &mut contacts {
        c.phone = mask_phone(&c.phone);
    }
    let phone = r.phone.as_deref().map(mask_phone);
    let id = r.id_card_masked.clone();
    build_view(r, phone, id, contacts, false)
}

/// A full read: numbers in clear. Callers audit it.
fn revealed(ctx: &AppState, r: ResidentRow) -> ServiceResult<ResidentView> {
    let id = match &r.id_card_cipher {
        Some(c) => Some(
            ctx.vault
                .decrypt(c)
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
        ),
        None => None,
    };
    let contacts = contacts_of(&r);
    let phone = r.phone.clone();
    Ok(build_view(r, phone, id, contacts, true))
}

fn build_view(
    r: ResidentRow,
    phone: Option<String>,
    id_card_number: Option<String>,
    contacts: Vec<EmergencyContact>,
    reveal: bool,
) -> ResidentView {
    ResidentView {
        id: r.id,
        community_id: r.community_id,
        grid_id: r.grid_id,
        user_id: r.user_id,
        name: r.name,
        gender: r.gender,
        birth_date: r.birth_date,
        phone,
        id_card_number,
        revealed: reveal,
        building: r.building,
        unit: r.unit,
        room: r.room,
        address: r.address,
        location: Coordinates::from_columns(r.lat, r.lng),
        emergency_contacts: contacts,
        care_categories: r
            .care_categories
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        care_level: r.care_level,
        consent: serde_json::from_value(r.consent.0).unwrap_or_default(),
        notes: r.notes,
        active: r.active,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// How the caller stands to one resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResidentAccess {
    Staff,
    GridWorker,
    /// A doctor on the care team of the resident's active visit plan.
    CareTeam,
    Own,
}

/// Loads a resident the caller may see, with how they stand to them; 404 for any other.
pub async fn load_for(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(ResidentRow, ResidentAccess)> {
    let (r, s) = load(ctx, p, id).await?;
    let a = match s {
        Scope::All => ResidentAccess::Staff,
        Scope::Grids(_) => ResidentAccess::GridWorker,
        Scope::Team(_) => ResidentAccess::CareTeam,
        Scope::Own => ResidentAccess::Own,
        Scope::Masked | Scope::None => return Err(ServiceError::NotFound),
    };
    Ok((r, a))
}

/// Whether the caller may place a help request for this resident, and as whom: staff, the
/// resident themself, the grid worker of the resident's grid, or any volunteer of the community
/// (a need they came across), taken in that order. `None`: the caller may not.
pub async fn may_place_for(
    ctx: &AppState,
    p: &Principal,
    resident: &ResidentRow,
) -> ServiceResult<Option<PlacedAs>> {
    let c = resident.community_id;
    Ok(Some(if p.is_staff(c) {
        PlacedAs::Staff
    } else if p.client_may(crate::domain::scope::Scope::RequestsWrite, c) {
        PlacedAs::ThirdParty
    } else if p.is_client() {
        return Ok(None);
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
        return Ok(None);
    }))
}

/// How the caller relates to residents of a community.
pub(super) enum Scope {
    /// Staff: every resident of the community.
    All,
    /// A grid worker: the residents of these grids.
    Grids(Vec<Uuid>),
    /// A family doctor: the residents of the visit plans they are on.
    Team(Vec<Uuid>),
    /// A resident: only their own record.
    Own,
    /// An integration client with `residents:read`: every resident of its community, masked,
    /// never revealed.
    Masked,
    None,
}

async fn scope(ctx: &AppState, p: &Principal, community_id: Uuid) -> ServiceResult<Scope> {
    if p.is_staff(community_id) {
        return Ok(Scope::All);
    }
    if p.is_client() {
        return Ok(
            if p.client_may(crate::domain::scope::Scope::ResidentsRead, community_id) {
                Scope::Masked
            } else {
                Scope::None
            },
        );
    }
    if p.has(Role::GridWorker, community_id) {
        return Ok(Scope::Grids(
            super::grids::served_by(ctx, p.user_id, community_id).await?,
        ));
    }
    if p.has(Role::Doctor, community_id) {
        return Ok(Scope::Team(
            ctx.resident_hooks
                .cared_for(ctx, community_id, p.user_id)
                .await?,
        ));
    }
    if p.has(Role::Resident, community_id) {
        return Ok(Scope::Own);
    }
    Ok(Scope::None)
}

fn sees(scope: &Scope, p: &Principal, r: &ResidentRow) -> bool {
    match scope {
        Scope::All | Scope::Masked => true,
        Scope::Grids(g) => r.grid_id.is_some_and(|id| g.contains(&id)),
        Scope::Team(ids) => ids.contains(&r.id),
        Scope::Own => r.user_id == Some(p.user_id),
        Scope::None => false,
    }
}

/// Loads a resident the caller may see; 404 for any other.
pub(super) async fn load(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<(ResidentRow, Scope)> {
    let r = store::registry::residents::get(&ctx.db, id).await?;
    let s = scope(ctx, p, r.community_id).await?;
    if !sees(&s, p, &r) {
        return Err(ServiceError::NotFound);
    }
    Ok((r, s))
}

fn duplicate_id(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict => field_error("id_card_number", "duplicate"),
        StoreError::ForeignKey => field_error("user_id", "unknown_reference"),
        other => other.into(),
    }
}

/// A grade named on the record is set by hand; otherwise the rules decide.
fn grade_on_save(explicit: bool) -> GradeOnSave {
    if explicit {
        GradeOnSave::Explicit
    } else {
        GradeOnSave::Rules
    }
}

/// Staff register anyone; grid workers register residents into their own grids.
pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: ResidentInput,
) -> ServiceResult<ResidentView> {
    visible(ctx, p, community_id).await?;
    match scope(ctx, p, community_id).await? {
        Scope::All => {}
        Scope::Grids(grids) => match input.grid_id {
            None => return Err(field_error("grid_id", "required")),
            Some(g) if !grids.contains(&g) => return Err(ServiceError::Forbidden("forbidden")),
            Some(_) => {}
        },
        _ => return Err(deny(p, community_id)),
    }
    let mut row = build(ctx, community_id, &input, None).await?;
    if let Some(u) = row.user_id {
        linking::check(ctx, p, u, Role::Resident, community_id).await?;
    }
    let save = ctx
        .resident_hooks
        .saving(
            ctx,
            p,
            None,
            &mut row,
            grade_on_save(input.care_level.is_some()),
        )
        .await?;
    let saved = store::registry::residents::save(&ctx.db, &row, None, save.as_ref())
        .await
        .map_err(duplicate_id)?;
    save.after(ctx).await;
    Ok(masked(saved))
}

/// Why a full read happened; kept in the audit log.
pub struct Reveal<'a> {
    pub reason: &'a str,
    pub request_id: Option<&'a str>,
}

/// A reveal's reason is at most 200 characters, also when given without a reveal: the same
/// input is refused the same way either way.
pub fn check_reason_length(reason: &str) -> ServiceResult<()> {
    if reason.trim().chars().count() > 200 {
        return Err(field_error("reason", "too_long"));
    }
    Ok(())
}

pub async fn get(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    reveal: Option<Reveal<'_>>,
) -> ServiceResult<ResidentView> {
    let (r, s) = load(ctx, p, id).await?;
    let Some(reveal) = reveal else {
        if matches!(s, Scope::Masked) {
            audit_client_read(ctx, p, r.community_id, Some(r.id)).await?;
        }
        return Ok(masked(r));
    };
    if !matches!(s, Scope::All | Scope::Grids(_)) {
        return Err(ServiceError::Forbidden("reveal_not_allowed"));
    }
    let reason = reveal.reason.trim();
    if reason.is_empty() {
        return Err(field_error("reason", "required"));
    }
    check_reason_length(reason)?;
    store::audit::insert(
        &ctx.db,
        NewAudit {
            community_id: Some(r.community_id),
            actor_id: Some(p.user_id),
            action: "resident.reveal",
            object_type: "resident",
            object_id: Some(r.id),
            reason: Some(reason),
            request_id: reveal.request_id,
        },
    )
    .await?;
    revealed(ctx, r)
}

/// Personal data going to a third party, even masked, is on the record: which client read one
/// resident (`object_id`) or a list of them.
async fn audit_client_read(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    resident: Option<Uuid>,
) -> ServiceResult<()> {
    store::audit::insert(
        &ctx.db,
        NewAudit {
            community_id: Some(community_id),
            actor_id: Some(p.user_id),
            action: if resident.is_some() {
                "resident.read_by_client"
            } else {
                "residents.listed_by_client"
            },
            object_type: "resident",
            object_id: resident,
            reason: None,
            request_id: None,
        },
    )
    .await?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct ListQuery {
    pub grid_id: Option<Uuid>,
    pub care_level: Option<String>,
    pub care_category: Option<String>,
    pub q: Option<String>,
    pub include_inactive: bool,
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    q: ListQuery,
    page: PageRequest,
) -> ServiceResult<Page<ResidentView>> {
    visible(ctx, p, community_id).await?;
    if let Some(c) = &q.care_category {
        CareCategory::parse(c).map_err(|code| field_error("care_category", code))?;
    }
    let mut filter = ResidentFilter {
        community_id,
        grid_id: q.grid_id,
        care_level: q.care_level,
        care_category: q.care_category,
        pattern: like_pattern(q.q.as_deref()),
        include_inactive: q.include_inactive,
        ..Default::default()
    };
    match scope(ctx, p, community_id).await? {
        Scope::All => {}
        Scope::Masked => audit_client_read(ctx, p, community_id, None).await?,
        Scope::Grids(_) => filter.grid_worker = Some(p.user_id),
        Scope::Team(_) => filter.team_member = Some(p.user_id),
        Scope::Own => filter.user_id = Some(p.user_id),
        Scope::None => return Err(ServiceError::Forbidden("forbidden")),
    }
    let rows =
        store::registry::residents::list(&ctx.db, &filter, page.after, page.fetch_limit()).await?;
    Ok(page.page(rows, |r| r.id, masked))
}

pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &Value,
) -> ServiceResult<ResidentView> {
    let (r, s) = load(ctx, p, id).await?;
    match &s {
        Scope::All => {}
        Scope::Grids(grids) => {
            if changes.get("active").is_some() || changes.get("user_id").is_some() {
                return Err(ServiceError::Forbidden("forbidden_field"));
            }
            if let Some(g) = changes.get("grid_id") {
                let moves_to_own =
                    serde_json::from_value::<Uuid>(g.clone()).is_ok_and(|g| grids.contains(&g));
                if !moves_to_own {
                    return Err(ServiceError::Forbidden("forbidden_field"));
                }
            }
        }
        _ => return Err(ServiceError::Forbidden("forbidden")),
    }
    let input: ResidentInput = patch::apply(&current_input(ctx, &r)?, changes)?;
    let mut row = build(ctx, r.community_id, &input, Some(&r)).await?;
    if let Some(u) = row.user_id.filter(|u| r.user_id != Some(*u)) {
        linking::check(ctx, p, u, Role::Resident, r.community_id).await?;
    }
    let explicit = changes.get("care_level").is_some();
    let save = ctx
        .resident_hooks
        .saving(ctx, p, Some(&r), &mut row, grade_on_save(explicit))
        .await?;
    let saved = store::registry::residents::save(&ctx.db, &row, Some(version), save.as_ref())
        .await
        .map_err(duplicate_id)?;
    save.after(ctx).await;
    Ok(masked(saved))
}

pub async fn deactivate(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: Option<i64>,
) -> ServiceResult<()> {
    let (r, s) = load(ctx, p, id).await?;
    if !matches!(s, Scope::All) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    if !r.active {
        return Ok(());
    }
    let expected = version.unwrap_or(r.version);
    let mut row = ResidentRow {
        active: false,
        ..r.clone()
    };
    let save = ctx
        .resident_hooks
        .saving(ctx, p, Some(&r), &mut row, GradeOnSave::Keep)
        .await?;
    store::registry::residents::save(&ctx.db, &row, Some(expected), save.as_ref()).await?;
    save.after(ctx).await;
    Ok(())
}
