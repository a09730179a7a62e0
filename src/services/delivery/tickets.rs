//! Stream tickets. A browser's `EventSource` cannot send `Authorization`, and an access token in
//! a URL would be written to every proxy's and server's log for its whole life; so an
//! authenticated client exchanges its token for a ticket that is good once, for a minute, and
//! only until the token itself expires. The stream it opens ends when that token expires too.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::crypto::{random_token, token_hash};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;
use crate::store::delivery::tickets;

pub const INVALID: ServiceError = ServiceError::Unauthorized("invalid_ticket");

#[derive(Debug)]
pub struct Ticket {
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
}

/// A ticket for `user_id`, whose access token expires at `token_expires_at`.
pub async fn issue(
    ctx: &AppState,
    user_id: Uuid,
    token_expires_at: DateTime<Utc>,
) -> ServiceResult<Ticket> {
    let now = store::now();
    let ttl = Duration::from_std(ctx.config.stream_ticket_ttl).unwrap_or(Duration::seconds(60));
    let expires_at = (now + ttl).min(token_expires_at);
    let ticket = random_token();
    tickets::insert(
        &ctx.db,
        &token_hash(&ticket),
        user_id,
        expires_at,
        token_expires_at,
        now,
    )
    .await?;
    Ok(Ticket { ticket, expires_at })
}

/// What `random_token` makes: 43 characters of base64url.
fn well_formed(ticket: &str) -> bool {
    ticket.len() == 43
        && ticket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Takes a ticket: the user and when their token expires. `invalid_ticket` for one that is
/// malformed, unknown, expired or used.
pub async fn redeem(ctx: &AppState, ticket: &str) -> ServiceResult<(Uuid, DateTime<Utc>)> {
    if !well_formed(ticket) {
        return Err(INVALID);
    }
    tickets::take(&ctx.db, &token_hash(ticket), store::now())
        .await?
        .ok_or(INVALID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_random_token_makes_is_looked_up() {
        assert!(well_formed(&random_token()));
        assert!(!well_formed(""));
        assert!(!well_formed(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
        ));
        assert!(!well_formed(&format!("{}=", &random_token()[..42])));
    }
}
