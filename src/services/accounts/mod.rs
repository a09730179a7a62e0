//! Login, token rotation, users and role grants.

pub mod linking;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{Grant, Principal, password};
use crate::crypto::{random_token, token_hash};
use crate::domain::phone::Phone;
use crate::domain::role::Role;
use crate::domain::text::Name;
use crate::domain::{FieldError, Fields};
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, like_pattern, patch};
use crate::state::AppState;
use crate::store::accounts::throttle::ThrottleRow;
use crate::store::accounts::tokens::Rotation;
use crate::store::accounts::users::{GrantRow, NewUser, UserRow};
use crate::store::{self, StoreError, now};

#[derive(Debug, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
}

fn pair(ctx: &AppState, user_id: Uuid, refresh_token: String) -> TokenPair {
    TokenPair {
        access_token: ctx.jwt.issue(user_id),
        token_type: "Bearer",
        expires_in: ctx.jwt.ttl.as_secs(),
        refresh_token,
    }
}

fn refresh_expiry(ctx: &AppState) -> DateTime<Utc> {
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
    let refresh = random_token();
    store::accounts::tokens::insert(
        &ctx.db,
        user.id,
        Uuid::now_v7(),
        &token_hash(&refresh),
        refresh_expiry(ctx),
    )
    .await?;
    Ok(pair(ctx, user.id, refresh))
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
    let grants = grants.into_iter().filter_map(grant_of).collect();
    Ok(Some(Principal { user_id, grants }))
}

fn grant_of(g: GrantRow) -> Option<Grant> {
    Some(Grant {
        id: g.id,
        role: Role::parse(&g.role).ok()?,
        community_id: g.community_id,
    })
}

// ---- users -------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub role: String,
    #[serde(default)]
    pub community_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub display_name: String,
    /// Required on creation; on update, a new password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    /// Creation only.
    #[serde(default, skip_serializing)]
    pub roles: Vec<RoleInput>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize)]
pub struct RoleView {
    pub id: Uuid,
    pub role: Role,
    pub community_id: Option<Uuid>,
}

#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: Uuid,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub display_name: String,
    pub active: bool,
    pub roles: Vec<RoleView>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(u: UserRow, grants: Vec<GrantRow>) -> UserView {
    UserView {
        id: u.id,
        username: u.username,
        phone: u.phone,
        display_name: u.display_name,
        active: u.active,
        roles: grants
            .into_iter()
            .filter_map(grant_of)
            .map(|g| RoleView {
                id: g.id,
                role: g.role,
                community_id: g.community_id,
            })
            .collect(),
        version: u.version,
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

fn parse_username(s: &str) -> Result<String, &'static str> {
    let u = s.trim().to_lowercase();
    if u.len() < 3 {
        return Err("required");
    }
    if u.len() > 32 {
        return Err("too_long");
    }
    if !u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        || !u.starts_with(|c: char| c.is_ascii_lowercase())
    {
        return Err("invalid_code");
    }
    Ok(u)
}

struct ValidUser {
    username: Option<String>,
    phone: Option<String>,
    display_name: String,
    password: Option<String>,
    active: bool,
    roles: Vec<(Role, Option<Uuid>)>,
}

fn validate_user(input: &UserInput, password_required: bool) -> Result<ValidUser, Vec<FieldError>> {
    let mut f = Fields::new();
    let username = f.check_opt("username", input.username.as_deref(), parse_username);
    let phone = f.check_opt("phone", input.phone.as_deref(), |p| {
        Phone::parse(p).map(|p| p.as_str().to_string())
    });
    let display_name = f.check("display_name", Name::parse(&input.display_name));
    if input.username.is_none() && input.phone.is_none() {
        f.push("username", "required");
    }
    match (&input.password, password_required) {
        (None, true) => f.push("password", "required"),
        (Some(p), _) => {
            f.check("password", password::check_strength(p));
        }
        _ => {}
    }
    let mut roles = Vec::new();
    for (i, r) in input.roles.iter().enumerate() {
        match Role::parse(&r.role) {
            Err(c) => f.push(format!("roles[{i}].role"), c),
            Ok(role) if role.is_community_scoped() != r.community_id.is_some() => f.push(
                format!("roles[{i}].community_id"),
                if role.is_community_scoped() {
                    "required"
                } else {
                    "invalid_value"
                },
            ),
            Ok(role) => roles.push((role, r.community_id)),
        }
    }
    f.finish(|| {
        Some(ValidUser {
            username: username?,
            phone: phone?,
            display_name: display_name?.into_inner(),
            password: input.password.clone(),
            active: input.active,
            roles,
        })
    })
}

/// Who may grant `role` in `community`: admins anything; a community admin the community's
/// everyday roles, never another community admin or a deployment admin.
pub(crate) fn may_grant(p: &Principal, role: Role, community: Option<Uuid>) -> bool {
    if p.is_admin() {
        return true;
    }
    match (role, community) {
        (Role::Admin | Role::CommunityAdmin, _) | (_, None) => false,
        (_, Some(c)) => p.can_manage(c),
    }
}

/// Who may see or edit a user: admins, the user, and community admins when every role of the
/// user lies in communities they manage.
fn may_administer(p: &Principal, target: Uuid, grants: &[GrantRow]) -> bool {
    p.is_admin()
        || (!grants.is_empty()
            && grants
                .iter()
                .all(|g| g.community_id.is_some_and(|c| p.can_manage(c))))
        || p.user_id == target
}

pub async fn create_user(
    ctx: &AppState,
    p: &Principal,
    input: UserInput,
) -> ServiceResult<UserView> {
    let v = validate_user(&input, true)?;
    if !p.is_admin() && v.roles.is_empty() {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    for (role, community) in &v.roles {
        if community.is_some_and(|c| !p.is_member(c)) {
            return Err(crate::services::field_error("roles", "unknown_reference"));
        }
        if !may_grant(p, *role, *community) {
            return Err(ServiceError::Forbidden("forbidden"));
        }
    }
    let hash = ctx.passwords.hash(v.password.unwrap_or_default()).await?;
    let grants: Vec<(String, Option<Uuid>)> = v
        .roles
        .iter()
        .map(|(r, c)| (r.as_str().to_string(), *c))
        .collect();
    let row = store::accounts::users::insert(
        &ctx.db,
        NewUser {
            username: v.username,
            phone: v.phone,
            display_name: v.display_name,
            password_hash: hash,
            active: v.active,
        },
        &grants,
        Some(p.user_id),
    )
    .await
    .map_err(|e| match e {
        StoreError::ForeignKey => crate::services::field_error("roles", "unknown_reference"),
        other => other.into(),
    })?;
    let grants = store::accounts::users::grants(&ctx.db, row.id).await?;
    Ok(view(row, grants))
}

/// Creates the first admin when the database has no user yet. Returns the generated password
/// when none was configured.
pub async fn bootstrap_admin(
    ctx: &AppState,
    configured: Option<&str>,
) -> ServiceResult<Option<(String, Option<String>)>> {
    if store::accounts::users::count(&ctx.db).await? > 0 {
        return Ok(None);
    }
    let generated = configured
        .is_none()
        .then(|| random_token()[..20].to_string());
    let pw = configured
        .map(str::to_string)
        .or_else(|| generated.clone())
        .unwrap_or_default();
    let hash = ctx.passwords.hash(pw).await?;
    let first = NewUser {
        username: Some("admin".into()),
        phone: None,
        display_name: "管理员".into(),
        password_hash: hash,
        active: true,
    };
    match store::accounts::users::insert(&ctx.db, first, &[("admin".into(), None)], None).await {
        Ok(_) => Ok(Some(("admin".into(), generated))),
        // Another instance starting at the same moment made the first admin: ours is not needed.
        Err(StoreError::Conflict) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Creates or resets an admin account (the `create-admin` command).
pub async fn create_admin(ctx: &AppState, username: &str, pw: &str) -> ServiceResult<Uuid> {
    let username =
        parse_username(username).map_err(|c| crate::services::field_error("username", c))?;
    password::check_strength(pw).map_err(|c| crate::services::field_error("password", c))?;
    let hash = ctx.passwords.hash(pw.to_string()).await?;
    if let Some(mut u) = store::accounts::users::find_by_login(&ctx.db, &username, None).await? {
        let version = u.version;
        u.password_hash = hash;
        u.active = true;
        let u = store::accounts::users::update(&ctx.db, &u, version).await?;
        if !store::accounts::users::grants(&ctx.db, u.id)
            .await?
            .iter()
            .any(|g| g.role == "admin")
        {
            store::accounts::users::grant(&ctx.db, u.id, "admin", None, None).await?;
        }
        return Ok(u.id);
    }
    let row = store::accounts::users::insert(
        &ctx.db,
        NewUser {
            username: Some(username),
            phone: None,
            display_name: "管理员".into(),
            password_hash: hash,
            active: true,
        },
        &[("admin".into(), None)],
        None,
    )
    .await?;
    Ok(row.id)
}

pub async fn get_user(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<UserView> {
    let row = store::accounts::users::get(&ctx.db, id).await?;
    let grants = store::accounts::users::grants(&ctx.db, id).await?;
    if !may_administer(p, id, &grants) {
        return Err(ServiceError::NotFound);
    }
    Ok(view(row, grants))
}

pub async fn me(ctx: &AppState, p: &Principal) -> ServiceResult<UserView> {
    get_user(ctx, p, p.user_id).await
}

pub async fn list_users(
    ctx: &AppState,
    p: &Principal,
    community: Option<Uuid>,
    q: Option<&str>,
    page: PageRequest,
) -> ServiceResult<Page<UserView>> {
    match community {
        None if !p.is_admin() => {
            return Err(crate::services::field_error("community_id", "required"));
        }
        Some(c) if !p.can_manage(c) => {
            return Err(if p.is_member(c) {
                ServiceError::Forbidden("forbidden")
            } else {
                ServiceError::NotFound
            });
        }
        _ => {}
    }
    let rows = store::accounts::users::list_with_grants(
        &ctx.db,
        page.after,
        community,
        like_pattern(q).as_deref(),
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |(r, _)| r.id, |(r, g)| view(r, g)))
}

fn current_input(u: &UserRow) -> UserInput {
    UserInput {
        username: u.username.clone(),
        phone: u.phone.clone(),
        display_name: u.display_name.clone(),
        password: None,
        active: u.active,
        roles: Vec::new(),
    }
}

pub async fn update_user(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    expected_version: i64,
    changes: &serde_json::Value,
) -> ServiceResult<UserView> {
    let row = store::accounts::users::get(&ctx.db, id).await?;
    let grants = store::accounts::users::grants(&ctx.db, id).await?;
    if !may_administer(p, id, &grants) {
        return Err(ServiceError::NotFound);
    }
    if changes.get("roles").is_some() {
        return Err(crate::services::field_error("roles", "unknown_field"));
    }
    let is_self_only = p.user_id == id
        && !p.is_admin()
        && !grants
            .iter()
            .all(|g| g.community_id.is_some_and(|c| p.can_manage(c)));
    if is_self_only {
        let allowed = ["display_name", "password"];
        if changes
            .as_object()
            .is_some_and(|o| o.keys().any(|k| !allowed.contains(&k.as_str())))
        {
            return Err(ServiceError::Forbidden("forbidden_field"));
        }
    }
    if p.user_id == id && changes.get("active") == Some(&serde_json::Value::Bool(false)) {
        return Err(ServiceError::Forbidden("forbidden"));
    }
    let input: UserInput = patch::apply(&current_input(&row), changes)?;
    let v = validate_user(&input, false)?;
    let password_hash = match v.password {
        Some(pw) => ctx.passwords.hash(pw).await?,
        None => row.password_hash.clone(),
    };
    let new = UserRow {
        username: v.username,
        phone: v.phone,
        display_name: v.display_name,
        password_hash,
        active: v.active,
        ..row
    };
    let saved = store::accounts::users::update(&ctx.db, &new, expected_version).await?;
    Ok(view(saved, grants))
}

pub async fn grant_role(
    ctx: &AppState,
    p: &Principal,
    user_id: Uuid,
    input: RoleInput,
) -> ServiceResult<RoleView> {
    let target = store::accounts::users::get(&ctx.db, user_id).await?;
    let grants = store::accounts::users::grants(&ctx.db, user_id).await?;
    let role = Role::parse(&input.role).map_err(|c| crate::services::field_error("role", c))?;
    if role.is_community_scoped() != input.community_id.is_some() {
        return Err(crate::services::field_error(
            "community_id",
            if role.is_community_scoped() {
                "required"
            } else {
                "invalid_value"
            },
        ));
    }
    if input.community_id.is_some_and(|c| !p.is_member(c)) {
        return Err(ServiceError::NotFound);
    }
    if !may_grant(p, role, input.community_id) {
        let knows_user = may_administer(p, target.id, &grants) || p.communities().next().is_some();
        return Err(if knows_user {
            ServiceError::Forbidden("forbidden")
        } else {
            ServiceError::NotFound
        });
    }
    let g = store::accounts::users::grant(
        &ctx.db,
        user_id,
        role.as_str(),
        input.community_id,
        Some(p.user_id),
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict => ServiceError::Conflict("role_already_granted"),
        StoreError::ForeignKey => crate::services::field_error("community_id", "unknown_reference"),
        other => other.into(),
    })?;
    Ok(RoleView {
        id: g.id,
        role,
        community_id: g.community_id,
    })
}

pub async fn revoke_role(
    ctx: &AppState,
    p: &Principal,
    user_id: Uuid,
    grant_id: Uuid,
) -> ServiceResult<()> {
    let g = store::accounts::users::get_grant(&ctx.db, grant_id).await?;
    if g.user_id != user_id {
        return Err(ServiceError::NotFound);
    }
    let role = Role::parse(&g.role).map_err(|_| ServiceError::NotFound)?;
    if !may_grant(p, role, g.community_id) {
        return Err(if g.community_id.is_some_and(|c| p.is_member(c)) {
            ServiceError::Forbidden("forbidden")
        } else {
            ServiceError::NotFound
        });
    }
    if role == Role::Admin && user_id == p.user_id {
        // The last way back in must not be thrown away by accident.
        return Err(ServiceError::Conflict("cannot_revoke_own_admin"));
    }
    store::accounts::users::revoke(&ctx.db, user_id, grant_id).await?;
    Ok(())
}

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

    #[test]
    fn user_input_reports_every_bad_field() {
        let input = UserInput {
            username: Some("X!".into()),
            phone: Some("123".into()),
            display_name: " ".into(),
            password: Some("short".into()),
            active: true,
            roles: vec![
                RoleInput {
                    role: "dispatcher".into(),
                    community_id: None,
                },
                RoleInput {
                    role: "king".into(),
                    community_id: None,
                },
            ],
        };
        let errs = validate_user(&input, true).err().unwrap();
        let got: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("username", "required"),
                ("phone", "invalid_phone"),
                ("display_name", "required"),
                ("password", "weak_password"),
                ("roles[0].community_id", "required"),
                ("roles[1].role", "unknown_value"),
            ]
        );
    }
}
