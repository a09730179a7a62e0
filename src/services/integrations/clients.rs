//! Integration clients: third-party systems a community admin (or an admin) registers for one
//! community, with scopes and a rate limit. The secret is made here, shown once and kept as a
//! keyed hash; rotation replaces it and ends older tokens; revocation ends the client at once.
//! [`authenticate_secret`] and [`principal_for_token`] are how other code turns a secret or a
//! client token into the client's [`Principal`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::auth::principal::ClientActor;
use crate::crypto::new_client_secret;
use crate::domain::Fields;
use crate::domain::scope::ScopeSet;
use crate::domain::text::Name;
use crate::services::registry::communities::{deny, visible};
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, patch};
use crate::state::AppState;
use crate::store::integrations::clients::{
    self as store_clients, ClientChange, ClientRow, NewClient,
};
use crate::store::{self, StoreError};

pub const DEFAULT_RATE_PER_MINUTE: i64 = 600;
pub const DEFAULT_BURST: i64 = 60;
pub const MAX_RATE_PER_MINUTE: i64 = 100_000;
pub const MAX_BURST: i64 = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    pub name: String,
    pub scopes: Vec<String>,
    #[serde(default = "default_rate")]
    pub rate_per_minute: i64,
    #[serde(default = "default_burst")]
    pub burst: i64,
}

fn default_rate() -> i64 {
    DEFAULT_RATE_PER_MINUTE
}

fn default_burst() -> i64 {
    DEFAULT_BURST
}

/// A client as shown: never its secret.
#[derive(Debug, Serialize)]
pub struct ClientView {
    pub id: Uuid,
    /// The `client_id` of the token request (the same as `id`).
    pub client_id: Uuid,
    pub community_id: Uuid,
    pub name: String,
    pub scopes: Vec<&'static str>,
    pub rate_per_minute: i64,
    pub burst: i64,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A client with its new secret: the answer to creation and rotation, and the only time the
/// secret is shown.
#[derive(Serialize)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    pub client: ClientView,
    pub client_secret: String,
}

impl std::fmt::Debug for ClientWithSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientWithSecret")
            .field("client", &self.client)
            .field("client_secret", &"***")
            .finish()
    }
}

/// The stored scope list; rows are written only from a parsed [`ScopeSet`].
fn stored_scopes(r: &ClientRow) -> ScopeSet {
    ScopeSet::parse_list(&r.scopes).unwrap_or_default()
}

fn view(r: ClientRow) -> ClientView {
    ClientView {
        id: r.id,
        client_id: r.id,
        community_id: r.community_id,
        scopes: stored_scopes(&r).names(),
        name: r.name,
        rate_per_minute: r.rate_per_minute,
        burst: r.burst,
        active: r.revoked_at.is_none(),
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
        rotated_at: r.rotated_at,
        revoked_at: r.revoked_at,
    }
}

struct Valid {
    name: String,
    scopes: ScopeSet,
}

fn validate(i: &ClientInput) -> ServiceResult<Valid> {
    let mut f = Fields::new();
    let name = f.check("name", Name::parse(&i.name));
    let scopes = f.check("scopes", ScopeSet::from_names(&i.scopes));
    if !(1..=MAX_RATE_PER_MINUTE).contains(&i.rate_per_minute) {
        f.push("rate_per_minute", "out_of_range");
    }
    if !(1..=MAX_BURST).contains(&i.burst) {
        f.push("burst", "out_of_range");
    }
    Ok(f.finish(|| {
        Some(Valid {
            name: name?.into_inner(),
            scopes: scopes?,
        })
    })?)
}

/// Clients are managed by the community's admins and by admins; never by a client.
async fn manageable(ctx: &AppState, p: &Principal, community: Uuid) -> ServiceResult<()> {
    visible(ctx, p, community).await?;
    if p.is_client() || !p.can_manage(community) {
        return Err(deny(p, community));
    }
    Ok(())
}

/// The client `id`, if the caller may manage it; 404 for another community's.
async fn managed(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<ClientRow> {
    let row = store_clients::get(&ctx.db, id).await?;
    if !p.is_member(row.community_id) {
        return Err(ServiceError::NotFound);
    }
    manageable(ctx, p, row.community_id).await?;
    Ok(row)
}

async fn audit(ctx: &AppState, p: &Principal, r: &ClientRow, action: &str) -> ServiceResult<()> {
    store::audit::insert(
        &ctx.db,
        store::audit::NewAudit {
            community_id: Some(r.community_id),
            actor_id: Some(p.user_id),
            action,
            object_type: "integration_client",
            object_id: Some(r.id),
            reason: None,
            request_id: None,
        },
    )
    .await?;
    Ok(())
}

pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: ClientInput,
) -> ServiceResult<ClientWithSecret> {
    manageable(ctx, p, community_id).await?;
    let v = validate(&input)?;
    let secret = new_client_secret();
    let hash = ctx.vault.client_secret_hash(&secret);
    let row = store_clients::create(
        &ctx.db,
        &NewClient {
            id: Uuid::now_v7(),
            community_id,
            name: &v.name,
            scopes: &v.scopes.to_list(),
            rate_per_minute: input.rate_per_minute,
            burst: input.burst,
            secret_hash: &hash,
            created_by: p.user_id,
        },
    )
    .await?;
    audit(ctx, p, &row, "client.created").await?;
    Ok(ClientWithSecret {
        client: view(row),
        client_secret: secret,
    })
}

pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<ClientView> {
    Ok(view(managed(ctx, p, id).await?))
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    include_revoked: bool,
    page: PageRequest,
) -> ServiceResult<Page<ClientView>> {
    manageable(ctx, p, community_id).await?;
    let rows = store_clients::list(
        &ctx.db,
        community_id,
        page.after,
        include_revoked,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |r| r.id, view))
}

fn changed(e: StoreError) -> ServiceError {
    match e {
        StoreError::Guard(code) => ServiceError::Conflict(code),
        other => other.into(),
    }
}

/// Merge-patch of name, scopes and rate limit. Narrowed scopes apply to tokens already out.
pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &serde_json::Value,
) -> ServiceResult<ClientView> {
    let current = managed(ctx, p, id).await?;
    if current.revoked_at.is_some() {
        return Err(ServiceError::Conflict("client_revoked"));
    }
    let before = ClientInput {
        name: current.name.clone(),
        scopes: stored_scopes(&current)
            .names()
            .into_iter()
            .map(String::from)
            .collect(),
        rate_per_minute: current.rate_per_minute,
        burst: current.burst,
    };
    let input: ClientInput = patch::apply(&before, changes)?;
    let v = validate(&input)?;
    let row = store_clients::update(
        &ctx.db,
        id,
        version,
        &ClientChange {
            name: &v.name,
            scopes: &v.scopes.to_list(),
            rate_per_minute: input.rate_per_minute,
            burst: input.burst,
        },
    )
    .await
    .map_err(changed)?;
    Ok(view(row))
}

/// A new secret, shown once; the old secret and every token granted under it stop working.
pub async fn rotate_secret(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
) -> ServiceResult<ClientWithSecret> {
    managed(ctx, p, id).await?;
    let secret = new_client_secret();
    let row = store_clients::rotate(&ctx.db, id, &ctx.vault.client_secret_hash(&secret))
        .await
        .map_err(changed)?;
    audit(ctx, p, &row, "client.secret_rotated").await?;
    Ok(ClientWithSecret {
        client: view(row),
        client_secret: secret,
    })
}

/// Revokes the client: its secret and tokens stop working at once. Revoking twice is fine.
pub async fn revoke(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<()> {
    let row = managed(ctx, p, id).await?;
    if store_clients::revoke(&ctx.db, id).await? {
        audit(ctx, p, &row, "client.revoked").await?;
    }
    Ok(())
}

/// What a client is and may do right now.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub principal: Principal,
    /// The scopes the client holds (a token may carry fewer).
    pub scopes: ScopeSet,
    pub rate_per_minute: i64,
    pub burst: i64,
    /// The secret generation, which the client's tokens carry.
    pub generation: i64,
}

fn authenticated(r: ClientRow, token_scopes: Option<&ScopeSet>) -> AuthenticatedClient {
    let held = stored_scopes(&r);
    let scopes = match token_scopes {
        Some(t) => t.intersection(&held),
        None => held.clone(),
    };
    AuthenticatedClient {
        principal: Principal::client(ClientActor {
            client_id: r.id,
            community_id: r.community_id,
            scopes,
        }),
        scopes: held,
        rate_per_minute: r.rate_per_minute,
        burst: r.burst,
        generation: r.secret_generation,
    }
}

/// The unrevoked client whose secret this is, with every scope it holds; `None` for any other
/// string. One keyed hash and one indexed read, whatever the string: a wrong secret costs the
/// same as a right one (Open311's `api_key` and the token endpoint both call this).
pub async fn authenticate_secret(
    ctx: &AppState,
    secret: &str,
) -> ServiceResult<Option<AuthenticatedClient>> {
    // No secret we make is longer; longer input is not hashed at all (it cannot match).
    if secret.is_empty() || secret.len() > 256 {
        return Ok(None);
    }
    let hash = ctx.vault.client_secret_hash(secret);
    Ok(store_clients::find_by_secret_hash(&ctx.db, &hash)
        .await?
        .map(|r| authenticated(r, None)))
}

/// The client a valid client token stands for, with the token's scopes that the client still
/// holds; `None` once the client is revoked or its secret rotated after the token was granted.
pub async fn principal_for_token(
    ctx: &AppState,
    client_id: Uuid,
    scope: &str,
    generation: i64,
) -> ServiceResult<Option<AuthenticatedClient>> {
    let row = match store_clients::get(&ctx.db, client_id).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if row.revoked_at.is_some() || row.secret_generation != generation {
        return Ok(None);
    }
    let token_scopes = ScopeSet::parse_list(scope).unwrap_or_default();
    Ok(Some(authenticated(row, Some(&token_scopes))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(scopes: &[&str], rate: i64, burst: i64) -> ClientInput {
        ClientInput {
            name: "12345 热线".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            rate_per_minute: rate,
            burst,
        }
    }

    fn codes(e: ServiceError) -> Vec<(String, &'static str)> {
        let ServiceError::Validation(e) = e else {
            panic!("{e:?}")
        };
        e.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn scopes_and_limits_are_checked() {
        assert!(validate(&input(&["requests:read"], 600, 60)).is_ok());
        assert_eq!(
            codes(
                validate(&input(&["requests:read", "root"], 600, 60))
                    .err()
                    .unwrap()
            ),
            vec![("scopes".to_string(), "unknown_scope")]
        );
        assert_eq!(
            codes(validate(&input(&[], 0, 10_001)).err().unwrap()),
            vec![
                ("scopes".to_string(), "required"),
                ("rate_per_minute".to_string(), "out_of_range"),
                ("burst".to_string(), "out_of_range"),
            ]
        );
    }
}
