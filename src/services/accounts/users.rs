//! Users and their role grants: who may create, see, change and grant what.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{Principal, password};
use crate::crypto::random_token;
use crate::domain::phone::Phone;
use crate::domain::role::Role;
use crate::domain::text::Name;
use crate::domain::{FieldError, Fields};
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, like_pattern, patch};
use crate::state::AppState;
use crate::store::accounts::users::{GrantRow, NewUser, UserRow};
use crate::store::{self, StoreError};

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
            .filter_map(super::sessions::grant_of)
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
            // Integration clients are made at `/communities/{id}/clients`, with their scopes.
            Ok(Role::Integration) => f.push(format!("roles[{i}].role"), "not_allowed"),
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
    if role == Role::Integration {
        return Err(crate::services::field_error("role", "not_allowed"));
    }
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
