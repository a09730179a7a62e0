//! The mini-program sign-in. `wx.login` gives the mini-program a code; the server exchanges it
//! with WeChat (`jscode2session`) for the person's openid (and unionid). Someone bound to that
//! (app, openid) gets the tokens of a password login. Anyone else gets a binding ticket (single
//! use, ten minutes, kept hashed with the openid, never WeChat's `session_key`) and binds with
//! it, proving who they are by the phone WeChat verified (`getuserphonenumber`) or by their login
//! and password:
//! - a phone that is an account's, or that of resident records linked to one account, binds
//!   that account;
//! - a phone of exactly one resident record without an account creates that resident's account
//!   (role `resident` in the record's community, linked to the record) and binds it;
//! - a phone of nobody is `phone_not_registered` (the station registers residents; nobody
//!   registers themselves), one of several people `phone_ambiguous`.
//!
//! The person bound must belong to a community the app serves (403 `wechat_app_not_serving`
//! otherwise): an app is its communities' mini-program. A refused bind writes nothing and leaves
//! the ticket usable (the person may try the other way); a successful one takes it. Binding
//! replaces an identity the account had before (one per account): messages follow the app the
//! person signs in with now.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{random_token, token_hash};
use crate::domain::Fields;
use crate::domain::phone::Phone;
use crate::services::accounts::sessions::{self, TokenPair};
use crate::services::integrations::wechat_apps::{credentials, parse_app_id};
use crate::services::integrations::wechat_identities::parse_openid;
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::integrations::wechat_apps as store_apps;
use crate::store::integrations::wechat_login::{
    self as store_login, Binding, Bound, NewResidentAccount, ResidentByPhone, TicketRow,
};
use crate::store::{self, StoreError};
use crate::wechat::{AppCredentials, WechatError};

/// How long a binding ticket may be redeemed.
pub const TICKET_MINUTES: i64 = 10;
/// WeChat's codes (`wx.login`'s and `getPhoneNumber`'s) are short; anything longer is not one.
const MAX_CODE_CHARS: usize = 128;
/// WeChat's frequency limit (45011) is counted per minute.
const WECHAT_RETRY_AFTER_SECS: u64 = 60;
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

const TICKET_INVALID: ServiceError = ServiceError::Unauthorized("binding_ticket_invalid");
const UNKNOWN_APP: ServiceError = ServiceError::Unprocessable("unknown_wechat_app");
const NOT_REGISTERED: ServiceError = ServiceError::Unprocessable("phone_not_registered");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub app_id: String,
    pub code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindInput {
    pub binding_ticket: String,
    #[serde(default)]
    pub phone_code: Option<String>,
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

/// The answer to a sign-in whose openid is bound to nobody.
#[derive(Debug, Serialize)]
pub struct BindingRequired {
    pub binding_required: bool,
    pub binding_ticket: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug)]
pub enum Login {
    Tokens(TokenPair),
    BindingRequired(BindingRequired),
}

/// What a WeChat failure means to the mini-program. The error is logged without secrets: no
/// `WechatError` holds a URL, a secret or a token.
fn wechat_failure(call: &'static str, e: WechatError) -> ServiceError {
    match e.errcode() {
        // 40029 invalid code, 40163 code already used.
        Some(40029 | 40163) => ServiceError::Unauthorized("wechat_code_invalid"),
        Some(45011) => ServiceError::RateLimited {
            code: "wechat_rate_limited",
            retry_after_secs: WECHAT_RETRY_AFTER_SECS,
        },
        _ => {
            tracing::warn!(call, error = %e, "WeChat call failed");
            ServiceError::OutsideUnavailable {
                code: "wechat_unavailable",
                retry_after_secs: UNAVAILABLE_RETRY_AFTER_SECS,
            }
        }
    }
}

fn parse_code(s: &str) -> Result<&str, &'static str> {
    if s.is_empty() {
        Err("required")
    } else if s.chars().count() > MAX_CODE_CHARS {
        Err("too_long")
    } else if !s.chars().all(|c| c.is_ascii_graphic()) {
        Err("invalid_value")
    } else {
        Ok(s)
    }
}

/// The active app registered under WeChat's `app_id`, with its credentials.
async fn app_by_app_id(
    ctx: &AppState,
    app_id: &str,
) -> ServiceResult<(store_apps::WechatApp, AppCredentials)> {
    let app = store_apps::find_by_app_id(&ctx.db, app_id)
        .await?
        .filter(|a| a.row.active)
        .ok_or(UNKNOWN_APP)?;
    let creds = credentials(ctx, app.row.id).await?.ok_or(UNKNOWN_APP)?;
    Ok((app, creds))
}

/// Signs in with a `wx.login` code.
pub async fn login(ctx: &AppState, input: &LoginInput) -> ServiceResult<Login> {
    let mut f = Fields::new();
    let app_id = f.check("app_id", parse_app_id(&input.app_id));
    let code = f.check("code", parse_code(&input.code));
    let (app_id, code) = f.finish(|| Some((app_id?, code?)))?;
    let (app, creds) = app_by_app_id(ctx, &app_id).await?;
    let session = ctx
        .wechat
        .jscode2session(&creds, code)
        .await
        .map_err(|e| wechat_failure("jscode2session", e))?;
    let openid = parse_openid(&session.openid).map_err(|_| {
        wechat_failure(
            "jscode2session",
            WechatError::Decode("an openid of another form".into()),
        )
    })?;
    if let Some((user_id, active)) = store_login::bound_user(&ctx.db, app.row.id, &openid).await? {
        if !active {
            return Err(ServiceError::Unauthorized("user_disabled"));
        }
        return Ok(Login::Tokens(sessions::issue(ctx, user_id).await?));
    }
    let now = store::now();
    let expires_at = now + Duration::minutes(TICKET_MINUTES);
    let ticket = random_token();
    let row = TicketRow {
        app: app.row.id,
        openid,
        unionid: session
            .unionid
            .filter(|u| parse_openid(u).is_ok_and(|p| p == *u)),
    };
    store_login::insert_ticket(&ctx.db, &token_hash(&ticket), &row, expires_at, now).await?;
    Ok(Login::BindingRequired(BindingRequired {
        binding_required: true,
        binding_ticket: ticket,
        expires_at,
    }))
}

/// How the person proves who they are.
enum Proof<'a> {
    Phone(&'a str),
    Password { login: &'a str, password: &'a str },
}

fn proof(input: &BindInput) -> ServiceResult<Proof<'_>> {
    let mut f = Fields::new();
    if input.binding_ticket.is_empty() {
        f.push("binding_ticket", "required");
    }
    let proof = match (&input.phone_code, &input.login, &input.password) {
        (Some(code), None, None) => f.check("phone_code", parse_code(code)).map(Proof::Phone),
        (None, Some(login), Some(password)) => Some(Proof::Password { login, password }),
        (None, Some(_), None) => {
            f.push("password", "required");
            None
        }
        (None, None, Some(_)) => {
            f.push("login", "required");
            None
        }
        (None, None, None) => {
            f.push("phone_code", "required");
            None
        }
        (Some(_), _, _) => {
            // One proof at a time: which one counted would be a guess.
            f.push("phone_code", "not_allowed");
            None
        }
    };
    Ok(f.finish(|| proof)?)
}

/// What `random_token` makes: 43 characters of base64url.
fn well_formed(ticket: &str) -> bool {
    ticket.len() == 43
        && ticket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Who a phone binds: an account, or a resident record that gets one.
#[derive(Debug, PartialEq)]
enum Match {
    User(Uuid),
    NewAccount { resident: Uuid, community: Uuid },
}

/// Among the active resident records with the phone, in communities the app serves: the one
/// person they are. `None` when there is none.
fn match_records(
    records: &[ResidentByPhone],
    served: &[Uuid],
) -> ServiceResult<Option<(Match, String)>> {
    let ours: Vec<&ResidentByPhone> = records
        .iter()
        .filter(|r| served.contains(&r.community_id))
        .collect();
    if ours.is_empty() {
        return if records.is_empty() {
            Ok(None)
        } else {
            Err(ServiceError::Forbidden("wechat_app_not_serving"))
        };
    }
    let mut users: Vec<Uuid> = ours.iter().filter_map(|r| r.user_id).collect();
    users.sort();
    users.dedup();
    let unlinked: Vec<&&ResidentByPhone> = ours.iter().filter(|r| r.user_id.is_none()).collect();
    match (users.as_slice(), unlinked.as_slice()) {
        ([user], []) => Ok(Some((Match::User(*user), String::new()))),
        ([], [r]) => Ok(Some((
            Match::NewAccount {
                resident: r.id,
                community: r.community_id,
            },
            r.name.clone(),
        ))),
        _ => Err(ServiceError::Conflict("phone_ambiguous")),
    }
}

/// The user's communities that the app serves: 403 when there is none.
async fn served_communities_of(
    ctx: &AppState,
    user_id: Uuid,
    served: &[Uuid],
) -> ServiceResult<Vec<Uuid>> {
    let mut theirs: Vec<Uuid> = store::accounts::users::grants(&ctx.db, user_id)
        .await?
        .into_iter()
        .filter_map(|g| g.community_id)
        .filter(|c| served.contains(c))
        .collect();
    theirs.sort();
    theirs.dedup();
    if theirs.is_empty() {
        return Err(ServiceError::Forbidden("wechat_app_not_serving"));
    }
    Ok(theirs)
}

async fn active_user(ctx: &AppState, user_id: Uuid) -> ServiceResult<()> {
    match store::accounts::users::get(&ctx.db, user_id).await {
        Ok(u) if u.active => Ok(()),
        Ok(_) => Err(ServiceError::Unauthorized("user_disabled")),
        Err(StoreError::NotFound) => Err(NOT_REGISTERED),
        Err(e) => Err(e.into()),
    }
}

/// Binds the ticket's openid to the person the proof names; their tokens.
pub async fn bind(
    ctx: &AppState,
    input: &BindInput,
    address: &str,
    request_id: Option<&str>,
) -> ServiceResult<TokenPair> {
    let proof = proof(input)?;
    if !well_formed(&input.binding_ticket) {
        return Err(TICKET_INVALID);
    }
    let ticket_hash = token_hash(&input.binding_ticket);
    let ticket = store_login::peek_ticket(&ctx.db, &ticket_hash, store::now())
        .await?
        .ok_or(TICKET_INVALID)?;
    let app = match store_apps::get(&ctx.db, ticket.app).await {
        Ok(a) if a.row.active => a,
        Ok(_) | Err(StoreError::NotFound) => return Err(TICKET_INVALID),
        Err(e) => return Err(e.into()),
    };
    let served = &app.community_ids;
    let (user_id, new_account, how) = match proof {
        Proof::Password { login, password } => {
            let user_id = sessions::authenticate(ctx, login, password, address).await?;
            (user_id, None, "by password")
        }
        Proof::Phone(code) => {
            let creds = credentials(ctx, app.row.id).await?.ok_or(TICKET_INVALID)?;
            let verified = ctx
                .wechat
                .phone_number(&creds, code)
                .await
                .map_err(|e| wechat_failure("getuserphonenumber", e))?;
            // The registry holds mainland numbers; another country's is nobody's here.
            let phone = Phone::parse(&verified.phone_number)
                .ok()
                .filter(|_| matches!(verified.country_code.as_str(), "" | "86"))
                .ok_or(NOT_REGISTERED)?;
            let phone = phone.as_str();
            match store_login::user_by_phone(&ctx.db, phone).await? {
                Some((user_id, _)) => {
                    active_user(ctx, user_id).await?;
                    (user_id, None, "by phone")
                }
                None => {
                    let records = store_login::residents_by_phone(&ctx.db, phone).await?;
                    match match_records(&records, served)?.ok_or(NOT_REGISTERED)? {
                        (Match::User(user_id), _) => {
                            active_user(ctx, user_id).await?;
                            (user_id, None, "by phone")
                        }
                        (
                            Match::NewAccount {
                                resident,
                                community,
                            },
                            name,
                        ) => (
                            Uuid::now_v7(),
                            Some((resident, community, phone.to_string(), name)),
                            "by phone",
                        ),
                    }
                }
            }
        }
    };
    let communities = match &new_account {
        Some((_, community, _, _)) => vec![*community],
        None => served_communities_of(ctx, user_id, served).await?,
    };
    // The account signs in through WeChat; a password it never had matches nothing, and
    // checking one against it costs what any check costs.
    let password_hash = match &new_account {
        Some(_) => Some(ctx.passwords.hash(random_token()).await?),
        None => None,
    };
    let refresh = random_token();
    let refresh_hash = token_hash(&refresh);
    let binding = Binding {
        ticket_hash: &ticket_hash,
        user_id,
        new_account: new_account
            .as_ref()
            .map(|(resident, community, phone, name)| NewResidentAccount {
                user_id,
                resident_id: *resident,
                community_id: *community,
                phone,
                display_name: name,
                password_hash: password_hash.as_deref().unwrap_or_default(),
            }),
        refresh_hash: &refresh_hash,
        refresh_expires_at: sessions::refresh_expiry(ctx),
        how,
        communities: &communities,
        request_id,
        now: store::now(),
    };
    match store_login::bind(&ctx.db, &binding).await {
        Ok(Bound::Done) => Ok(sessions::pair(ctx, user_id, refresh)),
        Ok(Bound::TicketGone) => Err(TICKET_INVALID),
        // The openid was bound to someone else between the ticket and now.
        Err(StoreError::Conflict) => Err(ServiceError::Conflict("openid_in_use")),
        Err(e) => Err(e.into()),
    }
}

/// Forgets the caller's WeChat identity; 404 when they have none.
pub async fn unbind(ctx: &AppState, user_id: Uuid, request_id: Option<&str>) -> ServiceResult<()> {
    let identity = store::integrations::wechat_identities::get(&ctx.db, user_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let served = store_apps::get(&ctx.db, identity.app).await?.community_ids;
    let mut communities: Vec<Uuid> = store::accounts::users::grants(&ctx.db, user_id)
        .await?
        .into_iter()
        .filter_map(|g| g.community_id)
        .filter(|c| served.contains(c))
        .collect();
    communities.sort();
    communities.dedup();
    store_login::unbind(
        &ctx.db,
        user_id,
        identity.app,
        &communities,
        request_id,
        store::now(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(community: Uuid, user_id: Option<Uuid>) -> ResidentByPhone {
        ResidentByPhone {
            id: Uuid::now_v7(),
            community_id: community,
            user_id,
            name: "孙大娘".into(),
        }
    }

    #[test]
    fn a_phone_names_one_person_of_the_apps_communities_or_is_refused() {
        let (ours, other) = (Uuid::now_v7(), Uuid::now_v7());
        let served = [ours];
        assert!(matches!(match_records(&[], &served), Ok(None)));
        let lone = record(ours, None);
        assert_eq!(
            match_records(std::slice::from_ref(&lone), &served)
                .unwrap()
                .unwrap()
                .0,
            Match::NewAccount {
                resident: lone.id,
                community: ours
            }
        );
        let user = Uuid::now_v7();
        let linked = [record(ours, Some(user)), record(ours, Some(user))];
        assert_eq!(
            match_records(&linked, &served).unwrap().unwrap().0,
            Match::User(user)
        );
        // Another community's record is not this app's to bind; a record elsewhere is ignored
        // when one here matches.
        assert!(matches!(
            match_records(&[record(other, None)], &served),
            Err(ServiceError::Forbidden("wechat_app_not_serving"))
        ));
        assert!(matches!(
            match_records(&[record(other, None), lone.clone()], &served),
            Ok(Some((Match::NewAccount { .. }, _)))
        ));
        for shared in [
            vec![record(ours, None), record(ours, None)],
            vec![record(ours, Some(user)), record(ours, None)],
            vec![record(ours, Some(user)), record(ours, Some(Uuid::now_v7()))],
        ] {
            assert!(matches!(
                match_records(&shared, &served),
                Err(ServiceError::Conflict("phone_ambiguous"))
            ));
        }
    }

    #[test]
    fn codes_are_short_printable_text() {
        assert_eq!(parse_code("0a1B2c3D"), Ok("0a1B2c3D"));
        assert_eq!(parse_code(""), Err("required"));
        assert_eq!(parse_code("a b"), Err("invalid_value"));
        assert_eq!(parse_code(&"a".repeat(129)), Err("too_long"));
    }
}
