//! A resident record as written (`ResidentInput`) and its validation into a row: every
//! writer of resident records (the API, a spreadsheet import) goes through [`check`].

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::care::{CareCategory, Gender, parse_categories};
use crate::domain::geo::Coordinates;
use crate::domain::id_card::IdCardNumber;
use crate::domain::phone::Phone;
use crate::domain::policy::CommunityPolicy;
use crate::domain::text::{AddressLine, Description, Label, Name};
use crate::domain::{FieldError, Fields};
use crate::services::registry::communities::policy_of;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::registry::residents::ResidentRow;
use crate::store::{self, StoreError};

use super::residents::contacts_of;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyContact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    pub phone: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Consent {
    /// Agreed to the station keeping their data (个人信息处理同意).
    pub data_processing: bool,
    /// Agreed that assigned volunteers may see their phone and address.
    pub share_with_volunteers: bool,
    /// Agreed to be phoned for return visits (回访).
    pub phone_follow_up: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentInput {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_card_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Coordinates>,
    #[serde(default)]
    pub emergency_contacts: Vec<EmergencyContact>,
    #[serde(default)]
    pub care_categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_level: Option<String>,
    #[serde(default)]
    pub consent: Consent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// Validates an input into a row (encrypting the ID number); `base` is the row being updated.
pub(super) async fn build(
    ctx: &AppState,
    community_id: Uuid,
    i: &ResidentInput,
    base: Option<&ResidentRow>,
) -> ServiceResult<ResidentRow> {
    let community = store::registry::communities::get(&ctx.db, community_id).await?;
    let policy = policy_of(&community);
    let grid_known = match i.grid_id {
        None => true,
        Some(g) => match store::registry::grids::get(&ctx.db, g).await {
            Ok(grid) => grid.row.community_id == community_id,
            Err(StoreError::NotFound) => false,
            Err(e) => return Err(e.into()),
        },
    };
    check(ctx, community_id, &policy, i, grid_known, base).map_err(ServiceError::Validation)
}

/// The checks of [`build`] once what they need from the database is known: the community's
/// policy and whether the input's grid is one of the community's. Every writer of resident
/// records (the API, a spreadsheet import) validates through here.
pub(crate) fn check(
    ctx: &AppState,
    community_id: Uuid,
    policy: &CommunityPolicy,
    i: &ResidentInput,
    grid_known: bool,
    base: Option<&ResidentRow>,
) -> Result<ResidentRow, Vec<FieldError>> {
    let mut f = Fields::new();
    let name = f.check("name", Name::parse(&i.name));
    let gender = f.check_opt("gender", i.gender.as_deref(), Gender::parse);
    let id_card = f.check_opt(
        "id_card_number",
        i.id_card_number.as_deref(),
        IdCardNumber::parse,
    );
    let today = Utc::now().date_naive();
    let birth = f.check_opt("birth_date", i.birth_date.as_deref(), |s| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .filter(|d| *d <= today && chrono::Datelike::year(d) >= 1900)
            .ok_or("invalid_date")
    });
    let phone = f.check_opt("phone", i.phone.as_deref(), Phone::parse);
    let building = f.check_opt("building", i.building.as_deref(), Label::parse);
    let unit = f.check_opt("unit", i.unit.as_deref(), Label::parse);
    let room = f.check_opt("room", i.room.as_deref(), Label::parse);
    let address = f.check_opt("address", i.address.as_deref(), AddressLine::parse);
    let notes = f.check_opt("notes", i.notes.as_deref(), Description::parse);
    let location = f.check_opt("location", i.location, |c| Coordinates::parse(c.lat, c.lng));
    let categories = f.check("care_categories", parse_categories(&i.care_categories));
    if i.care_level.as_ref().is_some_and(|l| !policy.has_grade(l)) {
        f.push("care_level", "unknown_grade");
    }
    if i.emergency_contacts.len() > 5 {
        f.push("emergency_contacts", "too_many");
    }
    let mut contacts = Vec::new();
    for (n, c) in i.emergency_contacts.iter().enumerate() {
        let name = f.check(
            &format!("emergency_contacts[{n}].name"),
            Name::parse(&c.name),
        );
        let relation = f.check_opt(
            &format!("emergency_contacts[{n}].relation"),
            c.relation.as_deref(),
            Label::parse,
        );
        let phone = f.check(
            &format!("emergency_contacts[{n}].phone"),
            Phone::parse(&c.phone),
        );
        if let (Some(name), Some(relation), Some(phone)) = (name, relation, phone) {
            contacts.push(EmergencyContact {
                name: name.into_inner(),
                relation: relation.map(|r| r.into_inner()),
                phone: phone.as_str().to_string(),
            });
        }
    }
    if !grid_known {
        f.push("grid_id", "unknown_reference");
    }
    if !f.is_empty() {
        return Err(f.into_errors());
    }
    let id_card = id_card.flatten();
    // Re-encrypt only when the number changed, so that an unchanged record keeps its ciphertext.
    let unchanged_id = base.is_some_and(|b| {
        b.id_card_hash.as_deref()
            == id_card
                .as_ref()
                .map(|c| ctx.vault.lookup_hash(c.as_str()))
                .as_deref()
    });
    let (cipher, hash, masked) = match (&id_card, base) {
        (Some(_), Some(b)) if unchanged_id => (
            b.id_card_cipher.clone(),
            b.id_card_hash.clone(),
            b.id_card_masked.clone(),
        ),
        (Some(c), _) => (
            Some(ctx.vault.encrypt(c.as_str())),
            Some(ctx.vault.lookup_hash(c.as_str())),
            Some(c.masked()),
        ),
        (None, _) => (None, None, None),
    };
    let t = store::now();
    let categories: Vec<CareCategory> = categories.unwrap_or_default();
    Ok(ResidentRow {
        id: base.map_or_else(Uuid::now_v7, |b| b.id),
        community_id,
        grid_id: i.grid_id,
        user_id: i.user_id,
        name: name.map(|n| n.into_inner()).unwrap_or_default(),
        gender: gender.flatten().map(|g| g.as_str().to_string()),
        birth_date: birth
            .flatten()
            .or_else(|| id_card.as_ref().map(IdCardNumber::birth_date)),
        phone: phone.flatten().map(|p| p.as_str().to_string()),
        id_card_cipher: cipher,
        id_card_hash: hash,
        id_card_masked: masked,
        building: building.flatten().map(|b| b.into_inner()),
        unit: unit.flatten().map(|b| b.into_inner()),
        room: room.flatten().map(|b| b.into_inner()),
        address: address.flatten().map(|b| b.into_inner()),
        lat: location.flatten().map(|c| c.lat),
        lng: location.flatten().map(|c| c.lng),
        care_categories: categories
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(","),
        emergency_contacts: Json(serde_json::to_value(contacts).unwrap_or_default()),
        care_level: i.care_level.clone(),
        consent: Json(serde_json::to_value(&i.consent).unwrap_or_default()),
        notes: notes.flatten().map(|b| b.into_inner()),
        active: i.active,
        version: base.map_or(1, |b| b.version),
        created_at: base.map_or(t, |b| b.created_at),
        updated_at: t,
    })
}

/// The record as an input, ID number decrypted: what an update starts from.
pub(crate) fn current_input(ctx: &AppState, r: &ResidentRow) -> ServiceResult<ResidentInput> {
    let id_card_number = match &r.id_card_cipher {
        Some(c) => Some(
            ctx.vault
                .decrypt(c)
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
        ),
        None => None,
    };
    Ok(ResidentInput {
        name: r.name.clone(),
        gender: r.gender.clone(),
        birth_date: r.birth_date.map(|d| d.to_string()),
        phone: r.phone.clone(),
        id_card_number,
        grid_id: r.grid_id,
        user_id: r.user_id,
        building: r.building.clone(),
        unit: r.unit.clone(),
        room: r.room.clone(),
        address: r.address.clone(),
        location: Coordinates::from_columns(r.lat, r.lng),
        emergency_contacts: contacts_of(r),
        care_categories: r
            .care_categories
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        care_level: r.care_level.clone(),
        consent: serde_json::from_value(r.consent.0.clone()).unwrap_or_default(),
        notes: r.notes.clone(),
        active: r.active,
    })
}
