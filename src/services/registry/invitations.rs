//! Invitations: the way an account that belongs to another community takes a role here. Staff
//! who may grant the role make a one-time code and hand it over in person; the owner of the
//! account, signed in, accepts it. Nobody learns of another community's accounts on the way.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::crypto::token_hash;
use crate::domain::role::Role;
use crate::services::accounts::may_grant;
use crate::services::registry::communities::{deny, visible};
use crate::services::{ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store::registry::invitations::InvitationRow;
use crate::store::{self, StoreError};

/// How long a code stays good.
const VALID_FOR_DAYS: i64 = 7;
/// Letters and digits that cannot be mistaken for each other when read out or copied by hand.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
const CODE_LEN: usize = 12;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvitationInput {
    pub role: String,
    #[serde(default)]
    pub resident_id: Option<Uuid>,
}

#[derive(Debug, Serialize)]
pub struct InvitationView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub role: Role,
    pub resident_id: Option<Uuid>,
    /// Shown once, here; only its hash is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<Uuid>,
}

fn view(r: InvitationRow, code: Option<String>) -> InvitationView {
    InvitationView {
        id: r.id,
        community_id: r.community_id,
        role: r.role,
        resident_id: r.resident_id,
        code,
        expires_at: r.expires_at,
        accepted_at: None,
        accepted_by: None,
    }
}

fn new_code() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..CODE_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Codes are read out and typed: case, spaces and dashes do not matter.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Those who may grant the role here invite; a resident's invitation names their record, which
/// must be of this community, active and not linked to an account yet.
pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: InvitationInput,
) -> ServiceResult<InvitationView> {
    visible(ctx, p, community_id).await?;
    let role = match Role::parse(&input.role) {
        Ok(r @ (Role::Resident | Role::Volunteer)) => r,
        _ => return Err(field_error("role", "unknown_value")),
    };
    if !may_grant(p, role, Some(community_id)) {
        return Err(deny(p, community_id));
    }
    match (role, input.resident_id) {
        (Role::Resident, None) => return Err(field_error("resident_id", "required")),
        (Role::Volunteer, Some(_)) => return Err(field_error("resident_id", "not_allowed")),
        (_, Some(id)) => match store::registry::residents::get(&ctx.db, id).await {
            Ok(r) if r.community_id == community_id && r.active => {
                if r.user_id.is_some() {
                    return Err(ServiceError::Conflict("already_linked"));
                }
            }
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(field_error("resident_id", "unknown_reference"));
            }
            Err(e) => return Err(e.into()),
        },
        _ => {}
    }
    let now = store::now();
    let row = InvitationRow {
        id: Uuid::now_v7(),
        community_id,
        role,
        resident_id: input.resident_id,
        created_by: p.user_id,
        created_at: now,
        expires_at: now + Duration::days(VALID_FOR_DAYS),
    };
    let code = new_code();
    store::registry::invitations::insert(&ctx.db, &row, &token_hash(&code)).await?;
    Ok(view(row, Some(code)))
}

/// Whether an invitation was taken, for those who may make it (the code is never shown again).
pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<InvitationView> {
    let s = store::registry::invitations::get(&ctx.db, id).await?;
    let c = s.row.community_id;
    if !p.is_member(c) {
        return Err(ServiceError::NotFound);
    }
    if !may_grant(p, s.row.role, Some(c)) {
        return Err(deny(p, c));
    }
    Ok(InvitationView {
        accepted_at: s.accepted_at,
        accepted_by: s.accepted_by,
        ..view(s.row, None)
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptInput {
    pub code: String,
}

/// The signed-in owner of an account accepts: the role is theirs (and the record, for a
/// resident). An unknown, spent or expired code is 404 alike.
pub async fn accept(
    ctx: &AppState,
    p: &Principal,
    input: AcceptInput,
) -> ServiceResult<InvitationView> {
    let code = normalise(&input.code);
    if code.len() != CODE_LEN {
        return Err(ServiceError::NotFound);
    }
    let at = store::now();
    match store::registry::invitations::accept(&ctx.db, &token_hash(&code), p.user_id, at).await {
        Ok(r) => Ok(InvitationView {
            accepted_at: Some(at),
            accepted_by: Some(p.user_id),
            ..view(r, None)
        }),
        Err(StoreError::Guard(c)) => Err(ServiceError::Conflict(c)),
        Err(StoreError::Conflict) => Err(ServiceError::Conflict("duplicate")),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_unambiguous_and_typed_forgivingly() {
        let c = new_code();
        assert_eq!(c.len(), CODE_LEN);
        assert!(c.bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(c, new_code());
        assert_eq!(normalise("abcd-efgh jkmn"), "ABCDEFGHJKMN");
    }
}
