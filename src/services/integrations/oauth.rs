//! `POST /oauth/token`: the client-credentials grant of RFC 6749 §4.4. The client authenticates
//! with HTTP Basic or with `client_id` and `client_secret` in the form (§2.3.1, never both); an
//! optional `scope` narrows what the token carries. Errors are §5.2's codes.

use serde::Serialize;
use uuid::Uuid;

use crate::domain::scope::ScopeSet;
use crate::services::ServiceError;
use crate::services::integrations::clients;
use crate::state::AppState;

/// §5.2's errors; `description` is the `error_description`, for the developer.
#[derive(Debug)]
pub enum OAuthError {
    InvalidRequest(&'static str),
    /// The client could not be authenticated; the same whether it exists or not.
    InvalidClient,
    UnsupportedGrantType,
    InvalidScope(&'static str),
    Service(ServiceError),
}

impl OAuthError {
    pub fn error(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::Service(_) => "server_error",
        }
    }

    pub fn description(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(d) | OAuthError::InvalidScope(d) => d,
            OAuthError::InvalidClient => "client authentication failed",
            OAuthError::UnsupportedGrantType => "only grant_type=client_credentials is supported",
            OAuthError::Service(_) => "the request could not be served",
        }
    }
}

impl From<ServiceError> for OAuthError {
    fn from(e: ServiceError) -> Self {
        OAuthError::Service(e)
    }
}

/// The form's parameters and the credentials of an `Authorization: Basic` header, if one came.
pub struct TokenRequest {
    pub params: Vec<(String, String)>,
    /// `Some(None)`: a Basic header that did not decode to `id:secret`.
    pub basic: Option<Option<(String, String)>>,
}

#[derive(Debug, Serialize)]
pub struct TokenGrant {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub scope: String,
}

/// §3.2: parameters sent without a value are treated as omitted; none may come twice.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, OAuthError> {
    let mut found = params.iter().filter(|(k, _)| k == name);
    let first = found.next();
    if found.next().is_some() {
        return Err(OAuthError::InvalidRequest(
            "a parameter was given more than once",
        ));
    }
    Ok(first.map(|(_, v)| v.as_str()).filter(|v| !v.is_empty()))
}

pub async fn grant(ctx: &AppState, req: TokenRequest) -> Result<TokenGrant, OAuthError> {
    let p = &req.params;
    let grant_type =
        param(p, "grant_type")?.ok_or(OAuthError::InvalidRequest("grant_type is required"))?;
    let body_id = param(p, "client_id")?;
    let body_secret = param(p, "client_secret")?;
    let scope = param(p, "scope")?;
    let (id, secret) = match (&req.basic, body_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::InvalidRequest(
                "use one client authentication method, not two",
            ));
        }
        (Some(None), None) => return Err(OAuthError::InvalidClient),
        (Some(Some((id, secret))), None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::InvalidRequest(
                    "client_id differs from the Basic one",
                ));
            }
            (id.as_str(), secret.as_str())
        }
        (None, Some(secret)) => (
            body_id.ok_or(OAuthError::InvalidRequest("client_id is required"))?,
            secret,
        ),
        (None, None) => return Err(OAuthError::InvalidClient),
    };
    if grant_type != "client_credentials" {
        return Err(OAuthError::UnsupportedGrantType);
    }
    // The secret is looked up by its hash alone, so an unknown client id costs what a known one
    // does, and answers the same.
    let client = clients::authenticate_secret(ctx, secret)
        .await?
        .filter(|c| Uuid::parse_str(id).ok() == Some(c.principal.user_id))
        .ok_or(OAuthError::InvalidClient)?;
    let granted = match scope {
        None => client.scopes.clone(),
        Some(s) => {
            let asked = ScopeSet::parse_list(s).map_err(|code| match code {
                "unknown_scope" => OAuthError::InvalidScope("unknown scope"),
                _ => OAuthError::InvalidScope("malformed scope"),
            })?;
            if !asked.is_subset(&client.scopes) {
                return Err(OAuthError::InvalidScope(
                    "scope exceeds the client's scopes",
                ));
            }
            asked
        }
    };
    let scope = granted.to_list();
    let ttl = ctx.config.client_token_ttl;
    Ok(TokenGrant {
        access_token: ctx.jwt.issue_client(
            client.principal.user_id,
            &scope,
            client.generation,
            ttl,
        ),
        token_type: "Bearer",
        expires_in: ttl.as_secs(),
        scope,
    })
}
