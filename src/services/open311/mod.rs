//! Open311 GeoReport v2: civic clients list the community's services and place and follow
//! service requests (DESIGN §7). A jurisdiction is a community (its code); the `api_key` is an
//! integration client's secret, holding the scope `open311`, for that community.
//!
//! `catalogue` answers discovery and services, `requests` the service requests (reads without a
//! key are limited per address by the deployment's limiter, `crate::rate_limit`). Errors are Open311's lists
//! ([`Failure::Client`]); the HTTP layer renders them in the format asked for.
//!
//! May use: `requests` (placing), `integrations` (clients), `registry` reads, `domain`, `store`.

pub mod catalogue;
pub mod requests;
pub mod triage;

use uuid::Uuid;

use crate::domain::open311::{Open311Error, Open311Errors};
use crate::domain::scope::Scope;
use crate::services::ServiceError;
use crate::services::integrations::clients::{AuthenticatedClient, authenticate_secret};
use crate::state::AppState;
use crate::store::open311::{self as store_open311, Jurisdiction};

/// Why an Open311 call failed: the caller's fault (an error list), or ours.
#[derive(Debug)]
pub enum Failure {
    Client(Open311Errors),
    Service(ServiceError),
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        Failure::Service(e)
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Service(e.into())
    }
}

impl From<Open311Errors> for Failure {
    fn from(e: Open311Errors) -> Self {
        Failure::Client(e)
    }
}

impl From<Open311Error> for Failure {
    fn from(e: Open311Error) -> Self {
        Failure::Client(vec![e])
    }
}

pub type Open311Result<T> = Result<T, Failure>;

/// A client calling with its key: the key's client, in its one community.
#[derive(Debug, Clone)]
pub struct KeyHolder {
    pub client_id: Uuid,
    pub community_id: Uuid,
}

/// The client whose secret `api_key` is. A wrong or revoked key is 401 whether or not such a
/// client ever existed; a client without the scope `open311` is 403.
pub async fn key_holder(ctx: &AppState, api_key: Option<&str>) -> Open311Result<Option<KeyHolder>> {
    let Some(key) = api_key else {
        return Ok(None);
    };
    let Some(AuthenticatedClient {
        principal, scopes, ..
    }) = authenticate_secret(ctx, key).await?
    else {
        return Err(Open311Error::new(401, "api_key: not a valid key").into());
    };
    if !scopes.contains(Scope::Open311) {
        return Err(Open311Error::new(403, "api_key: the key lacks the scope open311").into());
    }
    let actor = principal
        .client
        .ok_or_else(|| ServiceError::Internal("a client without its actor".into()))?;
    Ok(Some(KeyHolder {
        client_id: actor.client_id,
        community_id: actor.community_id,
    }))
}

/// The community a call is about: `jurisdiction_id` (a community code), else the key's
/// community, else the deployment's only one. A key is good for its own community only.
pub async fn jurisdiction(
    ctx: &AppState,
    jurisdiction_id: Option<&str>,
    key: Option<&KeyHolder>,
) -> Open311Result<Jurisdiction> {
    let j = match jurisdiction_id {
        Some(code) => store_open311::jurisdiction(&ctx.db, code)
            .await?
            .ok_or_else(|| Open311Error::new(404, "jurisdiction_id: no such jurisdiction"))?,
        None => match key {
            Some(k) => store_open311::community(&ctx.db, k.community_id).await?,
            None => {
                let mut all = store_open311::first_two(&ctx.db).await?;
                match all.len() {
                    1 => all.remove(0),
                    0 => {
                        return Err(Open311Error::new(
                            404,
                            "jurisdiction_id: no jurisdiction is served here",
                        )
                        .into());
                    }
                    _ => {
                        return Err(Open311Error::bad(
                            "jurisdiction_id",
                            "required: this server serves several jurisdictions",
                        )
                        .into());
                    }
                }
            }
        },
    };
    if let Some(k) = key
        && k.community_id != j.id
    {
        return Err(Open311Error::new(403, "api_key: not valid for this jurisdiction").into());
    }
    Ok(j)
}
