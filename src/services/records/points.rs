//! The time bank: the balance and entries of a volunteer (to them and to staff), and the
//! redemptions staff record; a redemption the balance does not cover is refused.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::may_read;
use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::text::Name;
use crate::domain::time_bank;
use crate::services::registry::communities::deny;
use crate::services::{Page, PageRequest, ServiceResult};
use crate::state::AppState;
use crate::store;
use crate::store::records::points::PointEntryRow;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedemptionInput {
    pub item: String,
    #[serde(default)]
    pub amount: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct PointEntryView {
    pub id: Uuid,
    pub volunteer_id: Uuid,
    pub kind: String,
    /// Positive when earned, negative when redeemed.
    pub amount: i64,
    pub balance_after: i64,
    pub item: Option<String>,
    pub hours_entry_id: Option<Uuid>,
    pub recorded_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Debug)]
pub struct PointsView {
    pub volunteer_id: Uuid,
    pub balance: i64,
    pub entries: Page<PointEntryView>,
}

fn view(r: PointEntryRow) -> PointEntryView {
    PointEntryView {
        id: r.id,
        volunteer_id: r.volunteer_id,
        kind: r.kind,
        amount: r.amount,
        balance_after: r.balance_after,
        item: r.item,
        hours_entry_id: r.hours_entry_id,
        recorded_by: r.recorded_by,
        at: r.at,
    }
}

/// The balance and a page of entries, oldest first.
pub async fn get(
    ctx: &AppState,
    p: &Principal,
    volunteer_id: Uuid,
    page: PageRequest,
) -> ServiceResult<PointsView> {
    let v = store::registry::volunteers::get(&ctx.db, volunteer_id).await?;
    may_read(p, &v)?;
    let balance = store::records::points::balance(&ctx.db, volunteer_id).await?;
    let rows =
        store::records::points::entries(&ctx.db, volunteer_id, page.after, page.fetch_limit())
            .await?;
    Ok(PointsView {
        volunteer_id,
        balance,
        entries: page.page(rows, |r| r.id, view),
    })
}

/// Staff redeem points for an item.
pub async fn redeem(
    ctx: &AppState,
    p: &Principal,
    volunteer_id: Uuid,
    input: RedemptionInput,
) -> ServiceResult<PointEntryView> {
    let v = store::registry::volunteers::get(&ctx.db, volunteer_id).await?;
    if !p.is_staff(v.community_id) {
        // The volunteer reaching for their own balance is refused; anyone else is told nothing.
        return Err(if v.user_id == p.user_id {
            deny(p, v.community_id)
        } else {
            crate::services::ServiceError::NotFound
        });
    }
    let mut f = Fields::new();
    let item = f.check("item", Name::parse(&input.item));
    let amount = f.check("amount", time_bank::amount(input.amount));
    let (item, amount) = f.finish(|| Some((item?, amount?)))?;
    let row = store::records::points::redeem(
        &ctx.db,
        v.community_id,
        volunteer_id,
        item.as_str(),
        amount,
        p.user_id,
        store::now(),
    )
    .await?;
    Ok(view(row))
}
