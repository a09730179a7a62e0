//! Lists of help requests: one community's, filtered, each caller seeing only the requests they
//! stand to.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Fields;
use crate::domain::help_request::{Origin, Status};
use crate::domain::role::Role;
use crate::domain::urgency::Urgency;
use crate::services::requests::access::Access;
use crate::services::requests::view::{HelpRequestView, audit_full_read, view_with};
use crate::services::{Page, PageRequest, ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;
use crate::store::requests::listing::RequestFilter;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub community_id: Option<Uuid>,
    pub status: Option<String>,
    pub grid_id: Option<Uuid>,
    pub service_type_id: Option<Uuid>,
    pub urgency: Option<String>,
    pub overdue: Option<bool>,
    pub assignee_id: Option<Uuid>,
    pub origin: Option<String>,
    pub resident_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Lists the requests of one community the caller may see, newest first.
pub async fn list(
    ctx: &AppState,
    p: &Principal,
    q: ListQuery,
    page: PageRequest,
) -> ServiceResult<Page<HelpRequestView>> {
    let community_id = crate::services::community_of_list(p, q.community_id)?;
    let mut f = Fields::new();
    if let Some(s) = &q.status {
        f.check("status", Status::parse(s));
    }
    if let Some(u) = &q.urgency {
        f.check("urgency", Urgency::parse(u));
    }
    if let Some(o) = &q.origin {
        f.check("origin", Origin::parse(o));
    }
    for (field, t) in [("from", q.from), ("to", q.to)] {
        if t.is_some_and(|t| !crate::services::sane_time(t)) {
            f.push(field, "out_of_range");
        }
    }
    if let (Some(a), Some(b)) = (q.from, q.to)
        && b <= a
    {
        f.push("to", "before_start");
    }
    if !f.is_empty() {
        return Err(ServiceError::Validation(f.into_errors()));
    }
    let mut filter = RequestFilter {
        community_id,
        status: q.status,
        grid_id: q.grid_id,
        service_type_id: q.service_type_id,
        urgency: q.urgency,
        overdue: q.overdue,
        assignee_id: q.assignee_id,
        origin: q.origin,
        from: q.from,
        to: q.to,
        resident_id: q.resident_id,
        ..RequestFilter::default()
    };
    let access = if p.is_staff(community_id) {
        Access::Staff
    } else if p.client_may(crate::domain::scope::Scope::RequestsRead, community_id) {
        Access::Client
    } else if p.is_client() {
        return Err(crate::services::registry::communities::deny(
            p,
            community_id,
        ));
    } else if p.has(Role::GridWorker, community_id) {
        filter.grid_worker = Some(p.user_id);
        Access::GridWorker
    } else if p.has(Role::Resident, community_id) {
        filter.resident_user = Some(p.user_id);
        Access::Resident
    } else if p.has(Role::Volunteer, community_id) {
        let v = store::requests::candidates::volunteer_of_user(&ctx.db, p.user_id, community_id)
            .await?
            .unwrap_or(Uuid::nil());
        filter.volunteer_id = Some(v);
        Access::Volunteer(v)
    } else {
        return Err(ServiceError::Forbidden("forbidden"));
    };
    let rows =
        store::requests::listing::list(&ctx.db, &filter, page.after, page.fetch_limit()).await?;
    let page = page.page(
        rows,
        |r| r.request.id,
        |r| view_with(r.request, access, r.resident),
    );
    let page = Page {
        items: page.items.into_iter().collect::<ServiceResult<_>>()?,
        next_after: page.next_after,
    };
    for v in &page.items {
        audit_full_read(ctx, p, v, access).await?;
    }
    Ok(page)
}
