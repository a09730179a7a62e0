//! The list of help requests: filters, and who sees which.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::registry::grids::grid_served_by;
use crate::store::requests::help_requests::{EventRow, RequestWithResident, request_columns_r};
use crate::store::{Db, StoreResult, on_db};

#[derive(Debug, Default)]
pub struct RequestFilter {
    pub community_id: Uuid,
    pub status: Option<String>,
    pub grid_id: Option<Uuid>,
    pub service_type_id: Option<Uuid>,
    pub urgency: Option<String>,
    pub overdue: Option<bool>,
    pub assignee_id: Option<Uuid>,
    pub origin: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub resident_id: Option<Uuid>,
    /// Visibility: only requests for residents linked to this account.
    pub resident_user: Option<Uuid>,
    /// Visibility: only requests offered to or assigned to this volunteer.
    pub volunteer_id: Option<Uuid>,
    /// Visibility: only requests of the grids this grid worker serves.
    pub grid_worker: Option<Uuid>,
}

/// The states a proactive need may be claimed in (寻单), as SQL. The lifecycle table decides;
/// a test pins this list to it.
macro_rules! claimable_states {
    () => {
        "('dispatching', 'offered', 'escalated')"
    };
}

const LIST: &str = concat!(
    "select ",
    request_columns_r!(),
    ", x.name as resident_name, x.phone as resident_phone, x.address as resident_address,
        x.user_id as resident_user_id, av.name as assignee_name, av.phone as assignee_phone
    from help_requests r join residents x on x.id = r.resident_id
    left join volunteers av on av.id = r.assignee_id
    where r.community_id = $1
      and ($2 is null or r.id < $2)
      and ($3 is null or r.status = $3)
      and ($4 is null or r.grid_id = $4)
      and ($5 is null or r.service_type_id = $5)
      and ($6 is null or r.urgency = $6)
      and ($7 is null or (r.respond_overdue or r.resolve_overdue) = $7)
      and ($8 is null or r.assignee_id = $8)
      and ($9 is null or r.origin = $9)
      and ($10 is null or r.created_at >= $10)
      and ($11 is null or r.created_at < $11)
      and ($12 is null or r.resident_id = $12)
      and ($13 is null or r.resident_id in (select x.id from residents x where x.user_id = $13))
      and ($14 is null or r.assignee_id = $14
           or exists (select 1 from dispatch_offers o where o.request_id = r.id and o.volunteer_id = $14 and o.answer is null)
           or (r.origin = 'proactive' and r.status in ",
    claimable_states!(),
    "))
      and ($15 is null or ",
    grid_served_by!("r.grid_id", "$15"),
    ")
    order by r.id desc limit $16"
);

/// Newest first.
pub async fn list(
    db: &Db,
    f: &RequestFilter,
    before: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<RequestWithResident>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST)
        .bind(f.community_id).bind(before).bind(&f.status).bind(f.grid_id).bind(f.service_type_id)
        .bind(&f.urgency).bind(f.overdue).bind(f.assignee_id).bind(&f.origin).bind(f.from).bind(f.to)
        .bind(f.resident_id).bind(f.resident_user).bind(f.volunteer_id).bind(f.grid_worker).bind(limit)
        .fetch_all(pool).await?))
}

/// A request's timeline, a page at a time.
const TIMELINE: &str =
    "select id, request_id, community_id, kind, actor_id, from_status, to_status, data, at
    from request_events where request_id = $1 and ($2 is null or id > $2) order by id limit $3";

pub async fn timeline(
    db: &Db,
    request_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<EventRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(TIMELINE).bind(request_id).bind(after).bind(limit).fetch_all(pool).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::help_request::{Action, states_allowing};

    #[test]
    fn the_claimable_states_in_sql_are_the_lifecycle_tables() {
        let mut listed: Vec<&str> = claimable_states!()
            .trim_matches(['(', ')'])
            .split(',')
            .map(|s| s.trim().trim_matches('\''))
            .collect();
        let mut table: Vec<&str> = states_allowing(Action::Claim)
            .iter()
            .map(|s| s.as_str())
            .collect();
        listed.sort_unstable();
        table.sort_unstable();
        assert_eq!(listed, table);
        assert!(LIST.contains(concat!("r.status in ", claimable_states!())));
    }
}
