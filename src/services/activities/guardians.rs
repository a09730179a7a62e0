//! Guardians: staff record a resident with an account as the guardian of a child resident, and
//! the people the family allows to pick the child up (name and phone; the phone kept encrypted
//! and shown masked). A guardian reads their own children and nobody else's.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::child;
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::phone::Phone;
use crate::domain::text::{Label, Name};
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store;
use crate::store::StoreError;
use crate::store::activities::guardians::{GuardianRow, NewPickup, PickupRow};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardianInput {
    /// The guardian's own resident record; it must have an account.
    pub resident_id: Uuid,
    #[serde(default)]
    pub relation: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickupInput {
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Serialize)]
pub struct GuardianView {
    pub id: Uuid,
    pub child_id: Uuid,
    pub resident_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub relation: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct PickupView {
    pub id: Uuid,
    pub child_id: Uuid,
    pub name: String,
    /// Masked: `138****5678`.
    pub phone: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct ChildView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    pub relation: Option<String>,
}

fn view(g: GuardianRow) -> GuardianView {
    GuardianView {
        id: g.id,
        child_id: g.child_id,
        resident_id: g.guardian_resident_id,
        user_id: g.guardian_user_id,
        name: g.guardian_name,
        relation: g.relation,
        created_at: g.created_at,
    }
}

fn pickup_view(p: PickupRow) -> PickupView {
    PickupView {
        id: p.id,
        child_id: p.child_id,
        name: p.name,
        phone: p.phone_masked,
        created_at: p.created_at,
    }
}

/// Staff only; the child's guardians get 403, anyone else 404.
async fn staff_of_child(
    ctx: &AppState,
    p: &Principal,
    child_id: Uuid,
) -> ServiceResult<store::registry::residents::ResidentRow> {
    let (c, staff) = child(ctx, p, child_id).await?;
    if !staff {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    Ok(c)
}

pub async fn add(
    ctx: &AppState,
    p: &Principal,
    child_id: Uuid,
    input: GuardianInput,
) -> ServiceResult<GuardianView> {
    let c = staff_of_child(ctx, p, child_id).await?;
    let mut f = Fields::new();
    let relation = f.check_opt("relation", input.relation.as_deref(), Label::parse);
    let g = match store::registry::residents::get(&ctx.db, input.resident_id).await {
        Ok(g) if g.community_id == c.community_id && g.id != c.id => Some(g),
        Ok(_) | Err(StoreError::NotFound) => {
            f.push("resident_id", "unknown_reference");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let user_id = match g.as_ref().map(|g| g.user_id) {
        Some(None) => {
            f.push("resident_id", "no_account");
            None
        }
        u => u.flatten(),
    };
    let row = f.finish(|| {
        Some(GuardianRow {
            id: Uuid::now_v7(),
            community_id: c.community_id,
            child_id,
            guardian_resident_id: input.resident_id,
            guardian_user_id: user_id?,
            relation: relation?.map(|r| r.into_inner()),
            created_by: p.user_id,
            created_at: store::now(),
            guardian_name: String::new(),
        })
    })?;
    match store::activities::guardians::insert(&ctx.db, &row).await {
        Ok(g) => Ok(view(g)),
        Err(StoreError::Conflict) => Err(ServiceError::Conflict("already_guardian")),
        Err(e) => Err(e.into()),
    }
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    child_id: Uuid,
) -> ServiceResult<Vec<GuardianView>> {
    child(ctx, p, child_id).await?;
    let rows = store::activities::guardians::of_child(&ctx.db, child_id).await?;
    Ok(rows.into_iter().map(view).collect())
}

pub async fn add_pickup(
    ctx: &AppState,
    p: &Principal,
    child_id: Uuid,
    input: PickupInput,
) -> ServiceResult<PickupView> {
    let c = staff_of_child(ctx, p, child_id).await?;
    let mut f = Fields::new();
    let name = f.check("name", Name::parse(&input.name));
    let phone = f.check("phone", Phone::parse(&input.phone));
    let n = f.finish(|| {
        let phone = phone?;
        Some(NewPickup {
            row: PickupRow {
                id: Uuid::now_v7(),
                community_id: c.community_id,
                child_id,
                name: name?.into_inner(),
                phone_masked: phone.masked(),
                created_by: p.user_id,
                created_at: store::now(),
            },
            phone_cipher: ctx.vault.encrypt(phone.as_str()),
            phone_hash: ctx.vault.lookup_hash(phone.as_str()),
        })
    })?;
    match store::activities::guardians::insert_pickup(&ctx.db, &n).await {
        Ok(()) => Ok(pickup_view(n.row)),
        Err(StoreError::Conflict) => Err(field_error("phone", "already_recorded")),
        Err(e) => Err(e.into()),
    }
}

pub async fn pickups(
    ctx: &AppState,
    p: &Principal,
    child_id: Uuid,
) -> ServiceResult<Vec<PickupView>> {
    child(ctx, p, child_id).await?;
    let rows = store::activities::guardians::pickups(&ctx.db, child_id).await?;
    Ok(rows.into_iter().map(pickup_view).collect())
}

/// The children the caller is a guardian of, in the communities they belong to.
pub async fn my_children(ctx: &AppState, p: &Principal) -> ServiceResult<Vec<ChildView>> {
    let rows = store::activities::guardians::children_of(&ctx.db, p.user_id).await?;
    Ok(rows
        .into_iter()
        .filter(|c| p.is_member(c.community_id))
        .map(|c| ChildView {
            id: c.id,
            community_id: c.community_id,
            name: c.name,
            birth_date: c.birth_date,
            relation: c.relation,
        })
        .collect())
}
