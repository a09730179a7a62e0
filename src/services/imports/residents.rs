//! Residents from a sheet: each row becomes the input the registry's API takes, and is checked
//! by the registry's own validation; rows are matched to records by ID number, else by phone.

use std::collections::{HashMap, HashSet};

use futures_util::{StreamExt, TryStreamExt, stream};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::id_card::IdCardNumber;
use crate::domain::import_sheet::{self as sheet, Column, SheetIssue, SheetRow};
use crate::domain::phone::Phone;
use crate::services::ServiceResult;
use crate::services::registry::communities::{deny, policy_of, visible};
use crate::services::registry::resident_hooks::{GradeOnSave, ResidentSave};
use crate::services::registry::residents::{self as registry, Consent, ResidentInput};
use crate::state::AppState;
use crate::store::TxWrites;
use crate::store::imports::residents::{self as store_import, ResidentImport};
use crate::store::registry::communities::CommunityRow;
use crate::store::registry::residents::ResidentRow;

use super::layout::{Layout, col};
use super::{ImportError, ImportReport, ImportResult};

/// The columns of a residents sheet, in the template's order.
pub const COLUMNS: &[Column] = &[
    col("name", "姓名", &["居民姓名"], true),
    col("gender", "性别", &[], false),
    col("birth_date", "出生日期", &["出生年月", "生日"], false),
    col(
        "id_card_number",
        "身份证号",
        &["身份证", "身份证号码", "公民身份号码", "证件号码"],
        false,
    ),
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
        false,
    ),
    col("building", "楼栋", &["楼号", "楼栋号", "栋", "楼"], false),
    col("unit", "单元", &["单元号"], false),
    col("room", "门牌", &["门牌号", "房号", "房间号", "室"], false),
    col("grid_id", "网格", &["网格名称", "所属网格"], false),
    col(
        "care_categories",
        "类别",
        &["分类", "人员类别", "照护类别", "人群类别"],
        false,
    ),
    col("address", "地址", &["住址", "详细地址", "家庭住址"], false),
    col("notes", "备注", &[], false),
];

/// Resident hooks run at once during a real run.
const HOOKS_AT_ONCE: usize = 8;

/// The template's example row carries this in 备注; a row that still does is skipped.
pub const EXAMPLE_MARK: &str = "示例行：导入时跳过，可删除";

/// Staff of the community only: 404 to outsiders, 403 to its other members.
pub async fn authorise(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
) -> ServiceResult<CommunityRow> {
    let c = visible(ctx, p, community_id).await?;
    if !p.is_staff(community_id) {
        return Err(deny(p, community_id));
    }
    Ok(c)
}

fn blank_input() -> ResidentInput {
    ResidentInput {
        name: String::new(),
        gender: None,
        birth_date: None,
        phone: None,
        id_card_number: None,
        grid_id: None,
        user_id: None,
        building: None,
        unit: None,
        room: None,
        address: None,
        location: None,
        emergency_contacts: Vec::new(),
        care_categories: Vec::new(),
        care_level: None,
        consent: Consent::default(),
        notes: None,
        active: true,
    }
}

/// Whether the import would change nothing the sheet speaks of.
fn same(a: &ResidentRow, b: &ResidentRow) -> bool {
    a.grid_id == b.grid_id
        && a.name == b.name
        && a.gender == b.gender
        && a.birth_date == b.birth_date
        && a.phone == b.phone
        && a.id_card_hash == b.id_card_hash
        && a.building == b.building
        && a.unit == b.unit
        && a.room == b.room
        && a.address == b.address
        && a.care_categories == b.care_categories
        && a.notes == b.notes
}

/// The records already there, found by ID number (hash) and by phone.
struct Existing {
    rows: Vec<ResidentRow>,
    by_hash: HashMap<String, usize>,
    by_phone: HashMap<String, Vec<usize>>,
}

impl Existing {
    fn new(rows: Vec<ResidentRow>) -> Self {
        let mut by_hash = HashMap::new();
        let mut by_phone: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            if let Some(h) = &r.id_card_hash {
                by_hash.insert(h.clone(), i);
            }
            if let Some(p) = &r.phone {
                by_phone.entry(p.clone()).or_default().push(i);
            }
        }
        Self {
            rows,
            by_hash,
            by_phone,
        }
    }

    /// The record a row is about: the one with its ID number; else, by phone, the one record
    /// with that phone (and, when the row has an ID number, no ID number of its own: a
    /// household shares a landline). `Err` when several records share the phone.
    fn find(&self, hash: Option<&str>, phone: Option<&str>) -> Result<Option<usize>, ()> {
        if let Some(i) = hash.and_then(|h| self.by_hash.get(h)) {
            return Ok(Some(*i));
        }
        let Some(found) = phone.and_then(|p| self.by_phone.get(p)) else {
            return Ok(None);
        };
        let found: Vec<usize> = found
            .iter()
            .copied()
            .filter(|i| hash.is_none() || self.rows[*i].id_card_hash.is_none())
            .collect();
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ if hash.is_some() => Ok(None),
            _ => Err(()),
        }
    }
}

/// What the rows come to: new records, changed ones (with the version they were read at),
/// and how many are unchanged.
#[derive(Default)]
struct Plan {
    creates: Vec<ResidentRow>,
    updates: Vec<(ResidentRow, ResidentRow)>,
    unchanged: usize,
    rows: usize,
    issues: Vec<SheetIssue>,
}

/// Imports a residents sheet into the community; `dry_run` checks every row and writes nothing.
pub async fn import(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    bytes: &[u8],
    dry_run: bool,
    request_id: Option<&str>,
) -> ImportResult<ImportReport> {
    let community = authorise(ctx, p, community_id).await?;
    let read = super::read_sheet(bytes)?;
    let layout = Layout::read(COLUMNS, &read.headers)?;
    // Without either column no row could be found again on the next import.
    let keyed = ["id_card_number", "phone"].iter().any(|f| layout.has(f));
    if !keyed {
        return Err(ImportError::Headers(vec![SheetIssue {
            row: 1,
            column: "身份证号".into(),
            field: "id_card_number".into(),
            code: "missing_header",
        }]));
    }
    let grids = super::grids_by_name(ctx, community_id).await?;
    let existing = Existing::new(store_import::of_community(&ctx.db, community_id).await?);
    let plan = plan(ctx, &community, &layout, &read.rows, &grids, &existing)?;
    let mut report = ImportReport {
        dry_run,
        rows: plan.rows,
        created: plan.creates.len(),
        updated: plan.updates.len(),
        unchanged: plan.unchanged,
        accounts_created: None,
        accounts_linked: None,
        errors: plan.issues,
    };
    if let Some(answer) = super::answer_before_writing(&report) {
        return answer;
    }
    write(
        ctx,
        p,
        community_id,
        plan.creates,
        plan.updates,
        &report,
        request_id,
    )
    .await?;
    report.errors = Vec::new();
    Ok(report)
}

fn plan(
    ctx: &AppState,
    community: &CommunityRow,
    layout: &Layout<'_>,
    rows: &[SheetRow],
    grids: &HashMap<String, Uuid>,
    existing: &Existing,
) -> ImportResult<Plan> {
    let policy = policy_of(community);
    let mut plan = Plan::default();
    let mut seen_ids: HashSet<String> = HashSet::new();
    let mut seen_phones: HashSet<String> = HashSet::new();
    let mut seen_records: HashSet<Uuid> = HashSet::new();
    for row in rows {
        if layout.cell(row, "notes") == Some(EXAMPLE_MARK) {
            continue;
        }
        plan.rows += 1;
        let mut issues = Vec::new();
        let id_number = layout.cell(row, "id_card_number");
        let phone = layout.cell(row, "phone");
        if id_number.is_none() && phone.is_none() {
            issues.push(layout.issue(row, "id_card_number", "id_or_phone_required"));
        }
        let hash = id_number
            .and_then(|n| IdCardNumber::parse(n).ok())
            .map(|n| ctx.vault.lookup_hash(n.as_str()));
        let phone_key = phone
            .and_then(|p| Phone::parse(p).ok())
            .map(|p| p.as_str().to_string());
        // The same person twice in one sheet: an error on the second row.
        let mut duplicate = false;
        if let Some(h) = &hash {
            if !seen_ids.insert(h.clone()) {
                issues.push(layout.issue(row, "id_card_number", "duplicate"));
                duplicate = true;
            }
        } else if let Some(ph) = &phone_key
            && !seen_phones.insert(ph.clone())
        {
            issues.push(layout.issue(row, "phone", "duplicate"));
            duplicate = true;
        }
        let base = match existing.find(hash.as_deref(), phone_key.as_deref()) {
            Ok(found) => found.map(|i| &existing.rows[i]),
            Err(()) => {
                issues.push(layout.issue(row, "phone", "ambiguous_match"));
                None
            }
        };
        if let Some(b) = base
            && !seen_records.insert(b.id)
            && !duplicate
        {
            let field = if hash.is_some() {
                "id_card_number"
            } else {
                "phone"
            };
            issues.push(layout.issue(row, field, "duplicate"));
        }
        let mut input = match base {
            Some(b) => registry::current_input(ctx, b).map_err(ImportError::Service)?,
            None => blank_input(),
        };
        let text = |f: &str| layout.cell(row, f).map(str::to_string);
        if let Some(v) = text("name") {
            input.name = v;
        }
        if let Some(v) = layout.cell(row, "gender") {
            input.gender = Some(sheet::gender(v));
        }
        if let Some(v) = layout.cell(row, "birth_date") {
            input.birth_date = Some(sheet::date(v));
        }
        if let Some(v) = text("id_card_number") {
            input.id_card_number = Some(v);
        }
        if let Some(v) = text("phone") {
            input.phone = Some(v);
        }
        for (field, slot) in [
            ("building", &mut input.building),
            ("unit", &mut input.unit),
            ("room", &mut input.room),
            ("address", &mut input.address),
            ("notes", &mut input.notes),
        ] {
            if let Some(v) = layout.cell(row, field) {
                *slot = Some(v.to_string());
            }
        }
        let mut grid_known = true;
        if let Some(name) = layout.cell(row, "grid_id") {
            match grids.get(name) {
                Some(id) => input.grid_id = Some(*id),
                None => grid_known = false,
            }
        }
        if let Some(v) = layout.cell(row, "care_categories") {
            input.care_categories = sheet::care_categories(v);
        }
        let checked = registry::check(ctx, community.id, &policy, &input, grid_known, base);
        match checked {
            Err(errors) => {
                issues.extend(layout.issues_of(row, &errors));
            }
            Ok(new) if issues.is_empty() => match base {
                None => plan.creates.push(new),
                Some(b) if same(b, &new) => plan.unchanged += 1,
                Some(b) => plan.updates.push((b.clone(), new)),
            },
            Ok(_) => {}
        }
        plan.issues.extend(issues);
    }
    Ok(plan)
}

/// The real run: every save graded by the rules as the API's saves are, then one transaction.
async fn write(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    mut creates: Vec<ResidentRow>,
    updates: Vec<(ResidentRow, ResidentRow)>,
    report: &ImportReport,
    request_id: Option<&str>,
) -> ImportResult<()> {
    // The hooks read (the community's policy, a record's grade) before the transaction, as the
    // API's saves do; a few at a time, since each waits on the database.
    let hooks = &ctx.resident_hooks;
    let mut saves: Vec<Box<dyn ResidentSave>> = stream::iter(creates.iter_mut())
        .map(|row| hooks.saving(ctx, p, None, row, GradeOnSave::Rules))
        .buffered(HOOKS_AT_ONCE)
        .try_collect()
        .await?;
    let mut changed: Vec<(ResidentRow, i64)> = updates
        .iter()
        .map(|(before, row)| (row.clone(), before.version))
        .collect();
    let updated: Vec<Box<dyn ResidentSave>> = stream::iter(updates.iter().zip(changed.iter_mut()))
        .map(|((before, _), (row, _))| hooks.saving(ctx, p, Some(before), row, GradeOnSave::Rules))
        .buffered(HOOKS_AT_ONCE)
        .try_collect()
        .await?;
    saves.extend(updated);
    let also: Vec<&dyn TxWrites> = saves.iter().map(|s| &**s as &dyn TxWrites).collect();
    let reason = format!(
        "rows {}, created {}, updated {}, unchanged {}",
        report.rows, report.created, report.updated, report.unchanged
    );
    let w = ResidentImport {
        creates: &creates,
        updates: &changed,
        also: &also,
        audit: super::audit_entry(p, community_id, "residents.imported", &reason, request_id),
    };
    super::written(store_import::apply(&ctx.db, &w).await)?;
    for s in &saves {
        s.after(ctx).await;
    }
    Ok(())
}
