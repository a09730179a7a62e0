//! Hours staff approve: attendance and activity sessions give pending entries; staff approve
//! them (the ledger row and time-bank points written with the decision) or decline them with a
//! reason, one by one or in bulk (all or nothing, at most 500 at a time).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::may_read;
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::text::Description;
use crate::services::registry::communities::{deny, policy_of};
use crate::services::{Page, PageRequest, ServiceError, ServiceResult, field_error};
use crate::state::AppState;
use crate::store;
use crate::store::records::hours_entries::{Decision, Filter, HoursEntryRow};

/// The most entries one bulk decision takes.
pub const MAX_BULK: usize = 500;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub source_type: Option<String>,
    #[serde(default)]
    pub volunteer_id: Option<Uuid>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclineInput {
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkInput {
    pub ids: Vec<Uuid>,
    /// Required to decline.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct HoursEntryView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub volunteer_id: Uuid,
    pub source_type: String,
    pub source_id: Uuid,
    pub part_id: Uuid,
    pub content: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub minutes: i64,
    pub status: String,
    pub recorded_by: Option<Uuid>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct Decided {
    pub items: Vec<HoursEntryView>,
}

fn view(e: HoursEntryRow) -> HoursEntryView {
    HoursEntryView {
        id: e.id,
        community_id: e.community_id,
        volunteer_id: e.volunteer_id,
        source_type: e.source_type,
        source_id: e.source_id,
        part_id: e.part_id,
        content: e.content,
        starts_at: e.starts_at,
        ends_at: e.ends_at,
        minutes: e.minutes,
        status: e.status,
        recorded_by: e.recorded_by,
        decided_by: e.decided_by,
        decided_at: e.decided_at,
        reason: e.reason,
        created_at: e.created_at,
    }
}

const STATUSES: &[&str] = &["pending", "approved", "declined"];
const SOURCES: &[&str] = &["mobilisation", "activity"];

/// Staff of the community; members without the right get 403, anyone else 404.
async fn staff_of(ctx: &AppState, p: &Principal, community_id: Uuid) -> ServiceResult<()> {
    crate::services::registry::communities::visible(ctx, p, community_id).await?;
    if p.is_staff(community_id) {
        Ok(())
    } else {
        Err(deny(p, community_id))
    }
}

pub async fn list(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    q: ListQuery,
    page: PageRequest,
) -> ServiceResult<Page<HoursEntryView>> {
    staff_of(ctx, p, community_id).await?;
    let mut f = Fields::new();
    if q.status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
        f.push("status", "unknown_value");
    }
    if q.source_type
        .as_deref()
        .is_some_and(|s| !SOURCES.contains(&s))
    {
        f.push("source_type", "unknown_value");
    }
    f.finish(|| Some(()))?;
    let filter = Filter {
        status: q.status,
        source_type: q.source_type,
        volunteer_id: q.volunteer_id,
    };
    let rows = store::records::hours_entries::of_community(
        &ctx.db,
        community_id,
        &filter,
        page.after,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |r| r.id, view))
}

/// The volunteer's own entries, to them and to staff of their community.
pub async fn of_volunteer(
    ctx: &AppState,
    p: &Principal,
    volunteer_id: Uuid,
    page: PageRequest,
) -> ServiceResult<Page<HoursEntryView>> {
    let v = store::registry::volunteers::get(&ctx.db, volunteer_id).await?;
    may_read(p, &v)?;
    let rows = store::records::hours_entries::of_volunteer(
        &ctx.db,
        volunteer_id,
        page.after,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |r| r.id, view))
}

async fn decide(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    mut ids: Vec<Uuid>,
    decision: Decision,
) -> ServiceResult<Vec<HoursEntryView>> {
    ids.sort();
    ids.dedup();
    let decision = match decision {
        Decision::Approve { .. } => {
            let c = store::registry::communities::get(&ctx.db, community_id).await?;
            Decision::Approve {
                points_per_hour: policy_of(&c).hours.points_per_hour,
            }
        }
        d => d,
    };
    let rows = store::records::hours_entries::decide(
        &ctx.db,
        community_id,
        &ids,
        &decision,
        p.user_id,
        store::now(),
    )
    .await?;
    Ok(rows.into_iter().map(view).collect())
}

/// The entry, to staff of its community; its own volunteer gets 403, anyone else 404.
async fn entry_for_staff(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<HoursEntryRow> {
    let e = store::records::hours_entries::get(&ctx.db, id).await?;
    if p.is_staff(e.community_id) {
        return Ok(e);
    }
    let own = store::registry::volunteers::get(&ctx.db, e.volunteer_id)
        .await
        .is_ok_and(|v| v.user_id == p.user_id);
    if own && p.is_member(e.community_id) {
        Err(ServiceError::Forbidden("forbidden"))
    } else {
        Err(ServiceError::NotFound)
    }
}

fn reason(r: &str) -> ServiceResult<String> {
    Description::parse(r)
        .map(|d| d.into_inner())
        .map_err(|c| field_error("reason", c))
}

pub async fn approve(ctx: &AppState, p: &Principal, id: Uuid) -> ServiceResult<HoursEntryView> {
    let e = entry_for_staff(ctx, p, id).await?;
    let mut v = decide(
        ctx,
        p,
        e.community_id,
        vec![id],
        Decision::Approve { points_per_hour: 0 },
    )
    .await?;
    v.pop().ok_or(ServiceError::NotFound)
}

pub async fn decline(
    ctx: &AppState,
    p: &Principal,
    id: Uuid,
    input: DeclineInput,
) -> ServiceResult<HoursEntryView> {
    let e = entry_for_staff(ctx, p, id).await?;
    let reason = reason(&input.reason)?;
    let mut v = decide(
        ctx,
        p,
        e.community_id,
        vec![id],
        Decision::Decline { reason },
    )
    .await?;
    v.pop().ok_or(ServiceError::NotFound)
}

/// Approves (`reason` None) or declines every entry named, or none: `unknown_reference` on
/// `ids` when one is not a pending or decided entry of this community, 409 `already_decided`
/// when one is no longer pending.
pub async fn bulk(
    ctx: &AppState,
    p: &Principal,
    community_id: Uuid,
    input: BulkInput,
    approve: bool,
) -> ServiceResult<Decided> {
    staff_of(ctx, p, community_id).await?;
    let mut f = Fields::new();
    if input.ids.is_empty() {
        f.push("ids", "required");
    } else if input.ids.len() > MAX_BULK {
        f.push("ids", "too_many");
    }
    let decision = if approve {
        if input.reason.is_some() {
            f.push("reason", "not_allowed");
        }
        Some(Decision::Approve { points_per_hour: 0 })
    } else {
        f.check(
            "reason",
            Description::parse(input.reason.as_deref().unwrap_or("")),
        )
        .map(|r| Decision::Decline {
            reason: r.into_inner(),
        })
    };
    let decision = f.finish(|| decision)?;
    match decide(ctx, p, community_id, input.ids, decision).await {
        Ok(items) => Ok(Decided { items }),
        Err(ServiceError::NotFound) => Err(field_error("ids", "unknown_reference")),
        Err(e) => Err(e),
    }
}
