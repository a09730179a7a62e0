//! Volunteers from a sheet: each row is a person found by phone. A volunteer of the community
//! with that phone is updated; an account with that phone is linked (it gets the volunteer
//! role and a profile) when the linking rules allow it; otherwise the import creates the
//! account. Each profile is checked by the registry's own validation.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::import_sheet::{self as sheet, Column, SheetIssue, SheetRow};
use crate::domain::phone::Phone;
use crate::domain::role::Role;
use crate::services::accounts::may_grant;
use crate::services::registry::communities::{deny, visible};
use crate::services::registry::volunteers::{self as registry, VolunteerInput};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::imports::volunteers::{
    self as store_import, AccountRole, NewAccount, VolunteerImport,
};
use crate::store::registry::communities::CommunityRow;
use crate::store::registry::volunteers::VolunteerRow;

use super::layout::{Layout, col};
use super::{ImportReport, ImportResult};

/// The columns of a volunteers sheet, in the template's order.
pub const COLUMNS: &[Column] = &[
    col("name", "姓名", &["志愿者姓名"], true),
    col(
        "phone",
        "电话",
        &[
            "手机",
            "手机号",
            "手机号码",
            "联系电话",
            "联系方式",
            "电话号码",
        ],
        true,
    ),
    col("home_grid_id", "网格", &["网格名称", "所属网格"], false),
    col(
        "skills",
        "技能",
        &["特长", "专长", "服务技能", "技能特长"],
        false,
    ),
    col("party_member", "党员", &["是否党员", "政治面貌"], false),
    col(
        "max_concurrent",
        "同时接单上限",
        &["最多同时接单", "接单上限"],
        false,
    ),
    col("status", "状态", &["志愿者状态"], false),
];

/// The template's example row carries this name; a row that still does is skipped.
pub const EXAMPLE_NAME: &str = "示例：李四（导入时跳过）";

/// Only those who may grant the volunteer role here (the community's admins, an admin): an
/// import creates accounts. 404 to outsiders, 403 to the community's other members.
pub async fn authorise(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
) -> ServiceResult<CommunityRow> {
    let c = visible(ctx, p, community_id).await?;
    if !may_grant(p, Role::Volunteer, Some(community_id)) {
        return Err(deny(p, community_id));
    }
    Ok(c)
}

/// An account found by phone, with where it holds roles.
struct Account {
    id: Uuid,
    active: bool,
    /// A role elsewhere (or a deployment-wide one): somebody else's account.
    elsewhere: bool,
}

/// Who the sheet's phones belong to already.
struct Existing {
    profiles: Vec<VolunteerRow>,
    by_user: HashMap<Uuid, usize>,
    /// Profiles by their own phone, for a profile whose account signs in with another.
    by_phone: HashMap<String, Vec<usize>>,
    accounts: HashMap<String, Account>,
}

impl Existing {
    fn new(profiles: Vec<VolunteerRow>, roles: Vec<AccountRole>, community_id: Uuid) -> Self {
        let mut by_user = HashMap::new();
        let mut by_phone: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, v) in profiles.iter().enumerate() {
            by_user.insert(v.user_id, i);
            if let Some(ph) = &v.phone {
                by_phone.entry(ph.clone()).or_default().push(i);
            }
        }
        let mut accounts: HashMap<String, Account> = HashMap::new();
        for r in roles {
            let a = accounts.entry(r.phone).or_insert(Account {
                id: r.id,
                active: r.active,
                elsewhere: false,
            });
            if r.role.is_some() && r.community_id != Some(community_id) {
                a.elsewhere = true;
            }
        }
        Self {
            profiles,
            by_user,
            by_phone,
            accounts,
        }
    }
}

/// Whether the import would change nothing the sheet speaks of.
fn same(a: &VolunteerRow, b: &VolunteerRow) -> bool {
    a.name == b.name
        && a.phone == b.phone
        && a.home_grid_id == b.home_grid_id
        && a.max_concurrent == b.max_concurrent
        && a.skills == b.skills
        && a.party_member == b.party_member
        && a.status == b.status
}

fn blank_input(user_id: Uuid) -> VolunteerInput {
    VolunteerInput {
        user_id,
        name: String::new(),
        phone: None,
        home_grid_id: None,
        location: None,
        max_concurrent: 3,
        skills: Vec::new(),
        availability: Vec::new(),
        party_member: false,
        status: "active".into(),
    }
}

/// Who a row is about.
enum Person<'e> {
    /// A volunteer of the community.
    Profile(&'e VolunteerRow),
    /// An account of this community (or of none) without a profile here.
    Link(Uuid),
    /// Nobody yet: the import creates the account.
    New(Uuid),
}

#[derive(Default)]
struct Plan {
    accounts: Vec<NewAccount>,
    grants: Vec<Uuid>,
    creates: Vec<VolunteerRow>,
    updates: Vec<(VolunteerRow, i64)>,
    linked: usize,
    unchanged: usize,
    rows: usize,
    issues: Vec<SheetIssue>,
}

/// Imports a volunteers sheet into the community; `dry_run` checks every row and writes nothing.
pub async fn import(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    bytes: &[u8],
    dry_run: bool,
    request_id: Option<&str>,
) -> ImportResult<ImportReport> {
    authorise(ctx, p, community_id).await?;
    let read = super::read_sheet(bytes)?;
    let layout = Layout::read(COLUMNS, &read.headers)?;
    let grids = super::grids_by_name(ctx, community_id).await?;
    let phones: Vec<String> = read
        .rows
        .iter()
        .filter_map(|r| layout.cell(r, "phone"))
        .filter_map(|ph| Phone::parse(ph).ok())
        .map(|ph| ph.as_str().to_string())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let existing = Existing::new(
        store_import::of_community(&ctx.db, community_id).await?,
        store_import::accounts_by_phone(&ctx.db, &phones).await?,
        community_id,
    );
    let plan = plan(p, community_id, &layout, &read.rows, &grids, &existing);
    let mut report = ImportReport {
        dry_run,
        rows: plan.rows,
        created: plan.creates.len(),
        updated: plan.updates.len(),
        unchanged: plan.unchanged,
        accounts_created: Some(plan.accounts.len()),
        accounts_linked: Some(plan.linked),
        errors: plan.issues,
    };
    if let Some(answer) = super::answer_before_writing(&report) {
        return answer;
    }
    write(
        ctx,
        p,
        community_id,
        &plan.accounts,
        &plan.grants,
        &plan.creates,
        &plan.updates,
        &report,
        request_id,
    )
    .await?;
    report.errors = Vec::new();
    Ok(report)
}

fn plan(
    p: &Principal,
    community_id: Uuid,
    layout: &Layout<'_>,
    rows: &[SheetRow],
    grids: &HashMap<String, Uuid>,
    existing: &Existing,
) -> Plan {
    let mut plan = Plan::default();
    let mut seen_phones: HashSet<String> = HashSet::new();
    let mut seen_profiles: HashSet<Uuid> = HashSet::new();
    for row in rows {
        if layout.cell(row, "name") == Some(EXAMPLE_NAME) {
            continue;
        }
        plan.rows += 1;
        let mut issues = Vec::new();
        let phone = layout.cell(row, "phone");
        let phone_key = phone
            .and_then(|ph| Phone::parse(ph).ok())
            .map(|ph| ph.as_str().to_string());
        if phone.is_none() {
            issues.push(layout.issue(row, "phone", "required"));
        }
        let person = match &phone_key {
            None => None,
            Some(ph) if !seen_phones.insert(ph.clone()) => {
                issues.push(layout.issue(row, "phone", "duplicate"));
                None
            }
            Some(ph) => match find(p, existing, ph) {
                Ok(person) => Some(person),
                Err(code) => {
                    issues.push(layout.issue(row, "phone", code));
                    None
                }
            },
        };
        if let Some(Person::Profile(b)) = &person
            && !seen_profiles.insert(b.id)
        {
            issues.push(layout.issue(row, "phone", "duplicate"));
        }
        let base = match &person {
            Some(Person::Profile(b)) => Some(*b),
            _ => None,
        };
        let user_id = match &person {
            Some(Person::Profile(b)) => b.user_id,
            Some(Person::Link(id) | Person::New(id)) => *id,
            None => Uuid::nil(),
        };
        let mut input = base.map_or_else(|| blank_input(user_id), registry::current_input);
        let mut grid_known = true;
        fill(layout, row, grids, &mut input, &mut grid_known, &mut issues);
        match registry::check(community_id, &input, grid_known, base) {
            Err(errors) => issues.extend(layout.issues_of(row, &errors)),
            Ok((new, _)) if issues.is_empty() => match person {
                Some(Person::Profile(b)) if same(b, &new) => plan.unchanged += 1,
                Some(Person::Profile(b)) => plan.updates.push((new, b.version)),
                Some(Person::Link(id)) => {
                    plan.linked += 1;
                    plan.grants.push(id);
                    plan.creates.push(new);
                }
                Some(Person::New(id)) => {
                    plan.accounts.push(NewAccount {
                        id,
                        phone: phone_key.clone().unwrap_or_default(),
                        display_name: new.name.clone(),
                    });
                    plan.grants.push(id);
                    plan.creates.push(new);
                }
                None => {}
            },
            Ok(_) => {}
        }
        plan.issues.extend(issues);
    }
    plan
}

/// Who has the phone: a volunteer of the community (by their account's phone, else their
/// profile's), an account that may be linked, or nobody. `Err` is the row's code.
fn find<'e>(
    p: &Principal,
    existing: &'e Existing,
    phone: &str,
) -> Result<Person<'e>, &'static str> {
    if let Some(a) = existing.accounts.get(phone) {
        if let Some(i) = existing.by_user.get(&a.id) {
            return Ok(Person::Profile(&existing.profiles[*i]));
        }
        // As `accounts::linking` has it: somebody else's account is linked by an admin only,
        // or by its owner accepting an invitation.
        if a.elsewhere && !p.is_admin() {
            return Err("phone_taken");
        }
        if !a.active {
            return Err("account_disabled");
        }
        return Ok(Person::Link(a.id));
    }
    match existing.by_phone.get(phone).map(Vec::as_slice) {
        Some([one]) => Ok(Person::Profile(&existing.profiles[*one])),
        Some([_, _, ..]) => Err("phone_shared"),
        _ => Ok(Person::New(Uuid::now_v7())),
    }
}

/// The row's cells over the input; an empty cell keeps what the profile has.
fn fill(
    layout: &Layout<'_>,
    row: &SheetRow,
    grids: &HashMap<String, Uuid>,
    input: &mut VolunteerInput,
    grid_known: &mut bool,
    issues: &mut Vec<SheetIssue>,
) {
    if let Some(v) = layout.cell(row, "name") {
        input.name = v.to_string();
    }
    if let Some(v) = layout.cell(row, "phone") {
        input.phone = Some(v.to_string());
    }
    if let Some(name) = layout.cell(row, "home_grid_id") {
        match grids.get(name) {
            Some(id) => input.home_grid_id = Some(*id),
            None => *grid_known = false,
        }
    }
    if let Some(v) = layout.cell(row, "skills") {
        match sheet::skills(v) {
            Ok(skills) => input.skills = skills,
            Err(_) => issues.push(layout.issue(row, "skills", "unknown_value")),
        }
    }
    if let Some(v) = layout.cell(row, "party_member") {
        match sheet::yes_no(v) {
            Ok(b) => input.party_member = b,
            Err(code) => issues.push(layout.issue(row, "party_member", code)),
        }
    }
    if let Some(v) = layout.cell(row, "max_concurrent") {
        match v.trim().parse::<i64>() {
            Ok(n) => input.max_concurrent = n,
            Err(_) => issues.push(layout.issue(row, "max_concurrent", "out_of_range")),
        }
    }
    if let Some(v) = layout.cell(row, "status") {
        input.status = sheet::volunteer_status(v);
    }
}

/// The real run: one hash for every new account, then one transaction.
#[allow(clippy::too_many_arguments)]
async fn write(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    accounts: &[NewAccount],
    grants: &[Uuid],
    creates: &[VolunteerRow],
    updates: &[(VolunteerRow, i64)],
    report: &ImportReport,
    request_id: Option<&str>,
) -> ImportResult<()> {
    // Hashed once per import, not per account: the secret is thrown away, so the accounts have
    // no usable password until their owners sign in with WeChat or staff set one.
    let password_hash = if accounts.is_empty() {
        String::new()
    } else {
        ctx.passwords
            .hash(crate::crypto::random_token())
            .await
            .map_err(ServiceError::from)?
    };
    let reason = format!(
        "rows {}, created {}, updated {}, unchanged {}, accounts created {}, accounts linked {}",
        report.rows,
        report.created,
        report.updated,
        report.unchanged,
        accounts.len(),
        report.accounts_linked.unwrap_or(0)
    );
    let w = VolunteerImport {
        accounts,
        password_hash: &password_hash,
        grants,
        granted_by: p.user_id,
        creates,
        updates,
        audit: super::audit_entry(p, community_id, "volunteers.imported", &reason, request_id),
    };
    super::written(store_import::apply(&ctx.db, &w).await)
}
