//! Signing in: login with lockout per account and per address, refresh-token rotation, logout,
//! and the principal a token stands for.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::{Grant, Principal};
use crate::crypto::{random_token, token_hash};
use crate::domain::phone::Phone;
use crate::domain::role::Role;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::accounts::throttle::ThrottleRow;
use crate::store::accounts::tokens::Rotation;
use crate::store::accounts::users::GrantRow;
use crate::store::{self, now};

#[derive(Debug, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
}

/// The answer of a sign-in: a fresh access token and `refresh_token` (already stored).
pub(crate) fn pair(ctx: &AppState, user_id: Uuid, refresh_token: String) -> TokenPair {
    TokenPair {
        access_token: ctx.jwt.issue(user_id),
        token_type: "Bearer",
        expires_in: ctx.jwt.ttl.as_secs(),
        refresh_token,
    }
}

pub(crate) fn refresh_expiry(ctx: &AppState) -> DateTime<Utc> {
    now()
        + ChronoDuration::from_std(ctx.config.refresh_token_ttl).unwrap_or(ChronoDuration::days(30))
}

/// Failed-login policy: at most `max` failures in a window of `lockout`; reaching it locks the
/// key for `lockout`.
pub fn after_failure(
    current: Option<&ThrottleRow>,
    key: &str,
    at: DateTime<Utc>,
    max: i64,
    lockout: ChronoDuration,
) -> ThrottleRow {
    let fresh = ThrottleRow {
        key: key.to_string(),
        failures: 1,
        window_started_at: at,
        locked_until: None,
    };
    let mut row = match current {
        Some(c) if c.window_started_at + lockout > at && c.locked_until.is_none_or(|l| l > at) => {
            ThrottleRow {
                failures: c.failures + 1,
                ..c.clone()
            }
        }
        _ => fresh,
    };
    if row.failures >= max {
        row.locked_until = Some(at + lockout);
    }
    row
}

/// Seconds until the longest lock among `rows` ends, if any is in force.
pub fn locked_for(rows: &[ThrottleRow], at: DateTime<Utc>) -> Option<u64> {
    rows.iter()
        .filter_map(|r| r.locked_until)
        .filter(|l| *l > at)
        .map(|l| (l - at).num_seconds().max(1) as u64)
        .max()
}

fn login_lookup(login: &str) -> (String, Option<String>) {
    let username = login.trim().to_lowercase();
    let phone = Phone::parse(login).ok().map(|p| p.as_str().to_string());
    (username, phone)
}

pub async fn login(
    ctx: &AppState,
    login: &str,
    pw: &str,
    address: &str,
) -> ServiceResult<TokenPair> {
    let user_id = authenticate(ctx, login, pw, address).await?;
    issue(ctx, user_id).await
}

/// Checks a login and password as `login` does, with the same lockout: the active user they
/// belong to, or the same refusal.
pub async fn authenticate(
    ctx: &AppState,
    login: &str,
    pw: &str,
    address: &str,
) -> ServiceResult<Uuid> {
    // No stored login or password is this long; refuse before hashing megabytes.
    if login.chars().count() > 64 || pw.chars().count() > 128 {
        return Err(ServiceError::Unauthorized("invalid_credentials"));
    }
    let (username, phone) = login_lookup(login);
    let account_key = format!("account:{}", phone.as_deref().unwrap_or(&username));
    let address_key = format!("address:{address}");
    let at = now();
    let rows = store::accounts::throttle::get_pair(&ctx.db, &account_key, &address_key).await?;
    if let Some(secs) = locked_for(&rows, at) {
        return Err(ServiceError::TooManyAttempts {
            retry_after_secs: secs,
        });
    }
    let user = store::accounts::users::find_by_login(&ctx.db, &username, phone.as_deref()).await?;
    let pw = pw.to_string();
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = ctx.passwords.verify(stored, pw).await?;
    let Some(user) = user.filter(|_| ok) else {
        let lockout = ChronoDuration::from_std(ctx.config.login_lockout)
            .unwrap_or(ChronoDuration::minutes(15));
        for (key, max) in [
            (&account_key, ctx.config.login_max_failures_per_account),
            (&address_key, ctx.config.login_max_failures_per_address),
        ] {
            let cur = rows.iter().find(|r| &r.key == key);
            store::accounts::throttle::put(&ctx.db, &after_failure(cur, key, at, max, lockout))
                .await?;
        }
        return Err(ServiceError::Unauthorized("invalid_credentials"));
    };
    if !user.active {
        return Err(ServiceError::Unauthorized("user_disabled"));
    }
    store::accounts::throttle::clear(&ctx.db, &account_key).await?;
    Ok(user.id)
}

/// A new login's tokens for `user_id` (a new refresh-token family).
pub async fn issue(ctx: &AppState, user_id: Uuid) -> ServiceResult<TokenPair> {
    let refresh = random_token();
    store::accounts::tokens::insert(
        &ctx.db,
        user_id,
        Uuid::now_v7(),
        &token_hash(&refresh),
        refresh_expiry(ctx),
    )
    .await?;
    Ok(pair(ctx, user_id, refresh))
}

pub async fn refresh(ctx: &AppState, refresh_token: &str) -> ServiceResult<TokenPair> {
    let new_token = random_token();
    let expires = refresh_expiry(ctx);
    match store::accounts::tokens::rotate(
        &ctx.db,
        &token_hash(refresh_token),
        &token_hash(&new_token),
        expires,
    )
    .await?
    {
        Rotation::Invalid => Err(ServiceError::Unauthorized("invalid_refresh_token")),
        Rotation::Reused => Err(ServiceError::Unauthorized("refresh_token_reused")),
        Rotation::Rotated { user_id, .. } => {
            let active = store::accounts::users::principal(&ctx.db, user_id)
                .await?
                .is_some_and(|(a, _)| a);
            if !active {
                return Err(ServiceError::Unauthorized("user_disabled"));
            }
            Ok(pair(ctx, user_id, new_token))
        }
    }
}

/// Revokes the refresh token's whole family. Unknown tokens are ignored (logout is idempotent).
pub async fn logout(ctx: &AppState, refresh_token: &str) -> ServiceResult<()> {
    store::accounts::tokens::revoke_family_of(&ctx.db, &token_hash(refresh_token)).await?;
    Ok(())
}

/// Loads the caller of a verified access token; `None` if the user is gone or disabled.
pub async fn principal(ctx: &AppState, user_id: Uuid) -> ServiceResult<Option<Principal>> {
    let Some((active, grants)) = store::accounts::users::principal(&ctx.db, user_id).await? else {
        return Ok(None);
    };
    if !active {
        return Ok(None);
    }
    let grants: Vec<Grant> = grants.into_iter().filter_map(grant_of).collect();
    // An integration client's account acts only through client tokens, with its scopes.
    if grants.iter().any(|g| g.role == Role::Integration) {
        return Ok(None);
    }
    Ok(Some(Principal::user(user_id, grants)))
}

pub(super) fn grant_of(g: GrantRow) -> Option<Grant> {
    Some(Grant {
        id: g.id,
        role: Role::parse(&g.role).ok()?,
        community_id: g.community_id,
    })
}

// ---- users -------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_and_the_window_expires() {
        let t0 = Utc::now();
        let lock = ChronoDuration::minutes(15);
        let mut row = after_failure(None, "k", t0, 5, lock);
        for i in 2..=4 {
            row = after_failure(Some(&row), "k", t0 + ChronoDuration::seconds(i), 5, lock);
            assert_eq!(row.failures, i);
            assert_eq!(row.locked_until, None);
        }
        row = after_failure(Some(&row), "k", t0 + ChronoDuration::seconds(5), 5, lock);
        assert!(row.locked_until.is_some());
        assert_eq!(
            locked_for(std::slice::from_ref(&row), t0 + ChronoDuration::seconds(6)),
            Some(899)
        );
        assert_eq!(
            locked_for(std::slice::from_ref(&row), t0 + ChronoDuration::minutes(16)),
            None
        );
        let later = after_failure(Some(&row), "k", t0 + ChronoDuration::minutes(31), 5, lock);
        assert_eq!((later.failures, later.locked_until), (1, None));
    }
}
