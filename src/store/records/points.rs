//! The time bank: one balance per volunteer and its entries. Points are earned inside the
//! transaction that approves hours (`earn!`) and redeemed by a conditional update, so that a
//! balance never goes below zero, whatever the number of redeems at once.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreError, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PointEntryRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub volunteer_id: Uuid,
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
    pub item: Option<String>,
    pub hours_entry_id: Option<Uuid>,
    pub recorded_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

pub(crate) const EARN: &str =
    "insert into point_balances (volunteer_id, community_id, balance, updated_at)
    values ($1, $2, $3, $4)
    on conflict (volunteer_id) do update set balance = point_balances.balance + excluded.balance,
        updated_at = excluded.updated_at
    returning balance";
pub(crate) const INSERT_ENTRY: &str = "insert into point_entries (id, community_id, volunteer_id,
        kind, amount, balance_after, item, hours_entry_id, recorded_by, at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const REDEEM: &str = "update point_balances set balance = balance - $2, updated_at = $3
    where volunteer_id = $1 and balance >= $2 returning balance";
const BALANCE: &str = "select balance from point_balances where volunteer_id = $1";
const ENTRIES: &str = "select id, community_id, volunteer_id, kind, amount, balance_after, item,
        hours_entry_id, recorded_by, at
    from point_entries where volunteer_id = $1 and ($2 is null or id > $2) order by id limit $3";

/// Adds `$points` to the volunteer's balance with its `earned` entry, inside the open
/// transaction `$tx`.
macro_rules! earn {
    ($tx:ident, $community:expr, $volunteer:expr, $points:expr, $hours_entry:expr, $by:expr, $at:expr) => {{
        let balance: i64 = sqlx::query_scalar($crate::store::records::points::EARN)
            .bind($volunteer)
            .bind($community)
            .bind($points)
            .bind($at)
            .fetch_one(&mut *$tx)
            .await?;
        sqlx::query($crate::store::records::points::INSERT_ENTRY)
            .bind(uuid::Uuid::now_v7())
            .bind($community)
            .bind($volunteer)
            .bind("earned")
            .bind($points)
            .bind(balance)
            .bind(None::<String>)
            .bind(Some($hours_entry))
            .bind($by)
            .bind($at)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use earn;

/// Takes `amount` from the balance for `item`; `insufficient_points` when it does not cover it
/// (nothing written).
pub async fn redeem(
    db: &Db,
    community_id: Uuid,
    volunteer_id: Uuid,
    item: &str,
    amount: i64,
    recorded_by: Uuid,
    at: DateTime<Utc>,
) -> StoreResult<PointEntryRow> {
    let row = PointEntryRow {
        id: Uuid::now_v7(),
        community_id,
        volunteer_id,
        kind: "redeemed".into(),
        amount: -amount,
        balance_after: 0,
        item: Some(item.to_string()),
        hours_entry_id: None,
        recorded_by: Some(recorded_by),
        at,
    };
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("point_entry", row.id);
        let balance: Option<i64> = sqlx::query_scalar(REDEEM).bind(volunteer_id).bind(amount)
            .bind(at).fetch_optional(&mut *tx).await?;
        let balance = balance.ok_or(StoreError::Guard("insufficient_points"))?;
        sqlx::query(INSERT_ENTRY).bind(row.id).bind(community_id).bind(volunteer_id)
            .bind(&row.kind).bind(row.amount).bind(balance).bind(&row.item)
            .bind(row.hours_entry_id).bind(row.recorded_by).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(PointEntryRow { balance_after: balance, ..row })
    })
}

/// The volunteer's balance (0 before anything was earned).
pub async fn balance(db: &Db, volunteer_id: Uuid) -> StoreResult<i64> {
    let b: Option<i64> = on_db!(db, pool => sqlx::query_scalar(BALANCE).bind(volunteer_id)
        .fetch_optional(pool).await?);
    Ok(b.unwrap_or(0))
}

/// A page of the volunteer's entries, oldest first.
pub async fn entries(
    db: &Db,
    volunteer_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<PointEntryRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(ENTRIES).bind(volunteer_id).bind(after).bind(limit)
        .fetch_all(pool).await?))
}
