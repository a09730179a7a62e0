//! Staff's side of the notices: write, publish, correct, unpublish, read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::public_notice::{
    Action, Category, Content, ContentInput, ItemInput, LineItem, Status, next,
};
use crate::domain::text::Text;
use crate::services::registry::communities::deny;
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, field_error, patch};
use crate::state::AppState;
use crate::store;
use crate::store::notices::notice_rows::{Notice, NoticeEvent, NoticeRow, VersionRow};

/// A new draft, or a draft's writable form for a merge patch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeInput {
    pub category: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<ItemValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_fen: Option<i64>,
    #[serde(default)]
    pub pinned: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemValue {
    pub item: Option<String>,
    pub amount_fen: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishInput {
    /// From when it is public; now when absent. At most a year ahead.
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionInput {
    pub title: Option<String>,
    pub body: Option<String>,
    pub items: Option<Vec<ItemValue>>,
    pub total_fen: Option<i64>,
    /// Why the notice is corrected: shown with the version.
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct NoticeView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub category: Category,
    pub status: Status,
    pub title: String,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<LineItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_fen: Option<i64>,
    pub pinned: bool,
    pub publish_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// The number of the version shown (1 until the first correction).
    pub current_version: i64,
    pub unpublished_at: Option<DateTime<Utc>>,
    pub unpublish_reason: Option<String>,
    pub created_by: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Notice> for NoticeView {
    fn from(n: Notice) -> Self {
        let r = n.row;
        Self {
            id: r.id,
            community_id: r.community_id,
            category: r.category,
            status: r.status,
            title: n.title,
            body: n.body,
            items: n.items.map(|j| j.0),
            total_fen: n.total_fen,
            pinned: r.pinned,
            publish_at: r.publish_at,
            ends_at: r.ends_at,
            current_version: r.current_version,
            unpublished_at: r.unpublished_at,
            unpublish_reason: r.unpublish_reason,
            created_by: r.created_by,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// One version as anyone may read it: what it said and when.
#[derive(Debug, Serialize)]
pub struct VersionView {
    pub no: i64,
    pub title: String,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<LineItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_fen: Option<i64>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<VersionRow> for VersionView {
    fn from(v: VersionRow) -> Self {
        Self {
            no: v.no,
            title: v.title,
            body: v.body,
            items: v.items.map(|j| j.0),
            total_fen: v.total_fen,
            reason: v.reason,
            created_at: v.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct NoticeWithVersions {
    #[serde(flatten)]
    pub notice: NoticeView,
    pub versions: Vec<VersionView>,
}

fn content_input(
    title: &Option<String>,
    body: &Option<String>,
    items: &Option<Vec<ItemValue>>,
    total_fen: Option<i64>,
) -> ContentInput {
    ContentInput {
        title: title.clone(),
        body: body.clone(),
        items: items.as_ref().map(|v| {
            v.iter()
                .map(|i| ItemInput {
                    item: i.item.clone(),
                    amount_fen: i.amount_fen,
                })
                .collect()
        }),
        total_fen,
    }
}

fn version_row(
    notice_id: Uuid,
    no: i64,
    c: Content,
    reason: Option<String>,
    author: Uuid,
    at: DateTime<Utc>,
) -> VersionRow {
    let (items, total_fen) = match c.items {
        Some((items, total)) => (Some(Json(items)), Some(total)),
        None => (None, None),
    };
    VersionRow {
        notice_id,
        no,
        title: c.title.into_inner(),
        body: c.body.into_inner(),
        items,
        total_fen,
        reason,
        author_id: author,
        created_at: at,
    }
}

fn staff_of(p: &Principal, community: Uuid) -> ServiceResult<()> {
    match p.is_staff(community) {
        true => Ok(()),
        false => Err(deny(p, community)),
    }
}

/// Checks a draft's fields; the category decides whether line items belong.
fn parse_draft(i: &NoticeInput, now: DateTime<Utc>) -> ServiceResult<(Category, Content)> {
    let mut errors = Fields::new();
    let category = match i.category.as_deref() {
        None => {
            errors.push("category", "required");
            None
        }
        Some(c) => errors.check("category", Category::parse(c)),
    };
    let content = category.and_then(|c| {
        Content::parse(
            c,
            &content_input(&i.title, &i.body, &i.items, i.total_fen),
            &mut errors,
        )
    });
    if category.is_none() {
        // Still report the content's own faults.
        let _ = Content::parse(
            Category::Affairs,
            &content_input(&i.title, &i.body, &None, None),
            &mut errors,
        );
    }
    if let Some(end) = i.ends_at
        && end <= now
    {
        errors.push("ends_at", "in_past");
    }
    Ok(errors.finish(|| category.zip(content))?)
}

pub async fn create(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: NoticeInput,
) -> ServiceResult<NoticeView> {
    staff_of(p, community_id)?;
    let now = store::now();
    let (category, content) = parse_draft(&input, now)?;
    let row = NoticeRow {
        id: Uuid::now_v7(),
        community_id,
        category,
        status: Status::Draft,
        pinned: input.pinned.unwrap_or(false),
        publish_at: None,
        ends_at: input.ends_at,
        announced_at: None,
        current_version: 1,
        unpublished_at: None,
        unpublish_reason: None,
        created_by: p.user_id,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let v = version_row(row.id, 1, content, None, p.user_id, now);
    store::notices::notice_rows::insert(&ctx.db, &row, &v).await?;
    Ok(store::notices::notice_rows::get(&ctx.db, row.id)
        .await?
        .into())
}

/// The notice, to staff of its community (404 to anyone else: they read the public board).
async fn load(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<Notice> {
    let n = store::notices::notice_rows::get(&ctx.db, id).await?;
    if !p.is_member(n.row.community_id) {
        return Err(ServiceError::NotFound);
    }
    staff_of(p, n.row.community_id)?;
    Ok(n)
}

/// Staff read every notice of their community; its other members one that was public (their
/// inbox links here); anyone else, or a draft, 404.
pub async fn get(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<NoticeWithVersions> {
    let n = store::notices::notice_rows::get(&ctx.db, id).await?;
    let community = n.row.community_id;
    let may_read = p.is_staff(community) || (p.is_member(community) && was_public(&n.row));
    if !may_read {
        return Err(ServiceError::NotFound);
    }
    let versions = store::notices::notice_rows::versions(&ctx.db, id).await?;
    Ok(NoticeWithVersions {
        notice: n.into(),
        versions: versions.into_iter().map(VersionView::from).collect(),
    })
}

pub struct ListFilter {
    pub category: Option<String>,
    pub status: Option<String>,
}

/// A filter's value, or 422 naming the query parameter.
pub(crate) fn parse_filter<T>(
    field: &str,
    v: Option<&str>,
    parse: impl Fn(&str) -> Result<T, &'static str>,
) -> ServiceResult<Option<T>> {
    v.map(|s| parse(s).map_err(|c| field_error(field, c)))
        .transpose()
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    filter: ListFilter,
    page: PageRequest,
) -> ServiceResult<Page<NoticeView>> {
    staff_of(p, community_id)?;
    let category = parse_filter("category", filter.category.as_deref(), Category::parse)?;
    let status = parse_filter("status", filter.status.as_deref(), Status::parse)?;
    let rows = store::notices::notice_rows::list(
        &ctx.db,
        community_id,
        page.after,
        category,
        status,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |n| n.row.id, NoticeView::from))
}

/// A merge patch: a draft's every field; a published notice's showing only (`pinned`,
/// `ends_at`), its content being corrected as a new version (409 `notice_published`).
pub async fn update(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    version: i64,
    changes: &Value,
) -> ServiceResult<NoticeView> {
    let n = load(ctx, p, id).await?;
    let now = store::now();
    let current = NoticeInput {
        category: Some(n.row.category.as_str().to_string()),
        title: Some(n.title.clone()),
        body: Some(n.body.clone()),
        items: n.items.as_ref().map(|j| {
            j.0.iter()
                .map(|i| ItemValue {
                    item: Some(i.item.clone()),
                    amount_fen: Some(i.amount_fen),
                })
                .collect()
        }),
        total_fen: n.total_fen,
        pinned: Some(n.row.pinned),
        ends_at: n.row.ends_at,
    };
    let input: NoticeInput = patch::apply(&current, changes)?;
    let mut row = n.row.clone();
    row.version = version;
    row.pinned = input.pinned.unwrap_or(false);
    row.ends_at = input.ends_at;
    match n.row.status {
        Status::Draft => {
            let (category, content) = parse_draft(&input, now)?;
            if category != n.row.category {
                return Err(field_error("category", "immutable"));
            }
            let v = version_row(id, 1, content, None, p.user_id, now);
            store::notices::notice_rows::edit_draft(&ctx.db, &row, &v, now).await?;
        }
        Status::Published => {
            let content_changed = input.title != current.title
                || input.body != current.body
                || input.total_fen != current.total_fen
                || serde_json::to_value(&input.items).ok()
                    != serde_json::to_value(&current.items).ok()
                || input.category != current.category;
            if content_changed {
                return Err(ServiceError::Conflict("notice_published"));
            }
            if let Some(end) = input.ends_at
                && Some(end) != n.row.ends_at
                && end <= now
            {
                return Err(field_error("ends_at", "in_past"));
            }
            store::notices::notice_rows::edit_showing(&ctx.db, &row, now).await?;
        }
        Status::Unpublished => return Err(ServiceError::Conflict("invalid_transition")),
    }
    Ok(store::notices::notice_rows::get(&ctx.db, id).await?.into())
}

fn event(
    n: &NoticeRow,
    kind: &'static str,
    actor: Uuid,
    data: Value,
    at: DateTime<Utc>,
) -> NoticeEvent {
    NoticeEvent {
        notice_id: n.id,
        community_id: n.community_id,
        kind,
        actor_id: Some(actor),
        data,
        at,
    }
}

/// Publishes a draft now, or from `at` (the residents are told when it becomes public).
pub async fn publish(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: PublishInput,
) -> ServiceResult<NoticeView> {
    let n = load(ctx, p, id).await?;
    next(n.row.status, Action::Publish).map_err(ServiceError::Conflict)?;
    let now = store::now();
    let at = match input.at {
        Some(at) if at > now + chrono::Duration::days(366) => {
            return Err(field_error("at", "too_far"));
        }
        Some(at) if at > now => at,
        _ => now,
    };
    let announce = (at <= now).then(|| {
        event(
            &n.row,
            "published",
            p.user_id,
            json!({"category": n.row.category, "title": n.title, "version": n.row.current_version}),
            now,
        )
    });
    store::notices::notice_rows::publish(&ctx.db, id, at, announce.as_ref(), now).await?;
    Ok(store::notices::notice_rows::get(&ctx.db, id).await?.into())
}

/// A correction: a new version of a published notice, with the reason; the earlier ones stay.
pub async fn correct(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: CorrectionInput,
) -> ServiceResult<NoticeWithVersions> {
    let n = load(ctx, p, id).await?;
    let mut errors = Fields::new();
    let content = Content::parse(
        n.row.category,
        &content_input(&input.title, &input.body, &input.items, input.total_fen),
        &mut errors,
    );
    let reason = errors.check(
        "reason",
        input
            .reason
            .as_deref()
            .ok_or("required")
            .and_then(Text::<500>::parse),
    );
    let (content, reason) = errors.finish(|| content.zip(reason))?;
    next(n.row.status, Action::Correct).map_err(ServiceError::Conflict)?;
    let now = store::now();
    let no = n.row.current_version + 1;
    let v = version_row(id, no, content, Some(reason.into_inner()), p.user_id, now);
    let e = event(
        &n.row,
        "corrected",
        p.user_id,
        json!({"category": n.row.category, "title": v.title, "version": no, "reason": v.reason}),
        now,
    );
    store::notices::notice_rows::correct(&ctx.db, &v, &e).await?;
    get(ctx, p, id).await
}

pub async fn unpublish(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: ReasonInput,
) -> ServiceResult<NoticeView> {
    let n = load(ctx, p, id).await?;
    let reason = match input.reason.as_deref().map(Text::<500>::parse) {
        Some(Ok(r)) => r.into_inner(),
        Some(Err(code)) => return Err(field_error("reason", code)),
        None => return Err(field_error("reason", "required")),
    };
    next(n.row.status, Action::Unpublish).map_err(ServiceError::Conflict)?;
    let now = store::now();
    let e = event(
        &n.row,
        "unpublished",
        p.user_id,
        json!({"reason": reason}),
        now,
    );
    store::notices::notice_rows::unpublish(&ctx.db, id, &reason, &e).await?;
    Ok(store::notices::notice_rows::get(&ctx.db, id).await?.into())
}

/// It has been on the board: published (or since unpublished) and its time has come.
pub(crate) fn was_public(n: &NoticeRow) -> bool {
    n.status != Status::Draft && n.publish_at.is_some_and(|at| at <= store::now())
}

/// A notice another capability publishes: plain content, no line items.
pub(crate) struct Publication<'a> {
    /// The new notice's id, chosen by the caller so that what it writes beside may name it.
    pub id: Uuid,
    pub community_id: Uuid,
    pub category: Category,
    pub title: &'a str,
    pub body: &'a str,
}

/// What another capability publishes as a notice (议事 publishes its decisions): written and
/// published at once by `p`, who must be staff of the community, in one transaction with what
/// that capability writes beside it (`also`, about `subject`). The new notice's id.
pub(crate) async fn publish_now(
    ctx: &AppState,
    p: &Principal,
    n: Publication<'_>,
    subject: (&'static str, Uuid),
    also: &dyn crate::store::TxWrites,
) -> ServiceResult<Uuid> {
    let Publication {
        id,
        community_id,
        category,
        title,
        body,
    } = n;
    staff_of(p, community_id)?;
    let mut errors = Fields::new();
    let content = Content::parse(
        category,
        &content_input(
            &Some(title.to_string()),
            &Some(body.to_string()),
            &None,
            None,
        ),
        &mut errors,
    );
    let content = errors.finish(|| content)?;
    let now = store::now();
    let row = NoticeRow {
        id,
        community_id,
        category,
        status: Status::Published,
        pinned: false,
        publish_at: Some(now),
        ends_at: None,
        announced_at: Some(now),
        current_version: 1,
        unpublished_at: None,
        unpublish_reason: None,
        created_by: p.user_id,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let v = version_row(row.id, 1, content, None, p.user_id, now);
    let announce = event(
        &row,
        "published",
        p.user_id,
        json!({"category": category, "title": v.title, "version": 1}),
        now,
    );
    store::notices::notice_rows::insert_published(&ctx.db, &row, &v, &announce, subject, also)
        .await?;
    Ok(row.id)
}
