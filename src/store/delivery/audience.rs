//! The people an event concerns, found through the objects it is about. Every query keeps to
//! active users, and to the rules by which those users may read the object (DESIGN §3): the
//! volunteer an offer was made to, the resident's own account, the grid workers serving the
//! object's grid, the community's dispatchers or admins, a plan's care team.

use uuid::Uuid;

use crate::store::registry::grids::grid_service;
use crate::store::{Db, StoreResult, on_db};

/// What the audience queries need to know about a help request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestFacts {
    pub community_id: Uuid,
    pub grid_id: Option<Uuid>,
    pub resident_user: Option<Uuid>,
    pub placed_by: Option<Uuid>,
    pub assignee_user: Option<Uuid>,
    pub service: String,
}

const REQUEST_FACTS: &str =
    "select h.community_id, h.grid_id, r.user_id as resident_user, h.placed_by,
        v.user_id as assignee_user, s.name as service
    from help_requests h join residents r on r.id = h.resident_id
      join service_types s on s.id = h.service_type_id
      left join volunteers v on v.id = h.assignee_id
    where h.id = $1";

pub async fn request_facts(db: &Db, request_id: Uuid) -> StoreResult<Option<RequestFacts>> {
    on_db!(db, pool => Ok(sqlx::query_as(REQUEST_FACTS).bind(request_id).fetch_optional(pool).await?))
}

/// What the audience queries need to know about a visit.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisitFacts {
    pub community_id: Uuid,
    pub grid_id: Option<Uuid>,
    pub plan_id: Option<Uuid>,
}

const VISIT_FACTS: &str = "select community_id, grid_id, plan_id from visits where id = $1";

pub async fn visit_facts(db: &Db, visit_id: Uuid) -> StoreResult<Option<VisitFacts>> {
    on_db!(db, pool => Ok(sqlx::query_as(VISIT_FACTS).bind(visit_id).fetch_optional(pool).await?))
}

const VOLUNTEER_USER: &str = "select v.user_id from volunteers v join users u on u.id = v.user_id
    where v.id = $1 and v.community_id = $2 and u.active";

/// The account of a volunteer of `community_id`, if active.
pub async fn volunteer_user(
    db: &Db,
    volunteer_id: Uuid,
    community_id: Uuid,
) -> StoreResult<Option<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(VOLUNTEER_USER).bind(volunteer_id).bind(community_id)
        .fetch_optional(pool).await?))
}

const DISPATCHERS: &str = "select g.user_id from role_grants g join users u on u.id = g.user_id
    where g.community_id = $1 and g.role = 'dispatcher' and u.active order by g.user_id";

pub async fn dispatchers(db: &Db, community_id: Uuid) -> StoreResult<Vec<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(DISPATCHERS).bind(community_id).fetch_all(pool).await?))
}

const COMMUNITY_ADMINS: &str =
    "select g.user_id from role_grants g join users u on u.id = g.user_id
    where g.community_id = $1 and g.role = 'community_admin' and u.active order by g.user_id";

pub async fn community_admins(db: &Db, community_id: Uuid) -> StoreResult<Vec<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(COMMUNITY_ADMINS).bind(community_id).fetch_all(pool).await?))
}

/// What the audience queries need to know about a webhook.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookFacts {
    pub community_id: Uuid,
    pub description: Option<String>,
}

const WEBHOOK_FACTS: &str = "select community_id, description from webhooks where id = $1";

pub async fn webhook_facts(db: &Db, webhook_id: Uuid) -> StoreResult<Option<WebhookFacts>> {
    on_db!(db, pool => Ok(sqlx::query_as(WEBHOOK_FACTS).bind(webhook_id).fetch_optional(pool).await?))
}

const GRID_WORKERS: &str = concat!(
    "select s.user_id from ",
    grid_service!(),
    " s join users u on u.id = s.user_id where s.grid_id = $1 and u.active order by s.user_id"
);

pub async fn grid_workers(db: &Db, grid_id: Uuid) -> StoreResult<Vec<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(GRID_WORKERS).bind(grid_id).fetch_all(pool).await?))
}

const CARE_TEAM: &str = "select m.user_id from care_team_members m join users u on u.id = m.user_id
    where m.plan_id = $1 and u.active order by m.user_id";

pub async fn care_team(db: &Db, plan_id: Uuid) -> StoreResult<Vec<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(CARE_TEAM).bind(plan_id).fetch_all(pool).await?))
}

const ACTIVE: &str = "select count(*) from users where id = $1 and active";

pub async fn is_active(db: &Db, user_id: Uuid) -> StoreResult<bool> {
    let n: i64 =
        on_db!(db, pool => sqlx::query_scalar(ACTIVE).bind(user_id).fetch_one(pool).await?);
    Ok(n > 0)
}

const SIGNED_UP: &str = "select distinct v.user_id from mobilisation_signups g
    join volunteers v on v.id = g.volunteer_id join users u on u.id = v.user_id
    where g.mobilisation_id = $1 and g.status in ('confirmed', 'waiting') and u.active
    order by v.user_id";

/// The accounts of the volunteers holding a live sign-up for the mobilisation.
pub async fn signed_up_users(db: &Db, mobilisation_id: Uuid) -> StoreResult<Vec<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(SIGNED_UP).bind(mobilisation_id).fetch_all(pool).await?))
}

/// What the audience queries need to know about a mobilisation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MobilisationFacts {
    pub community_id: Uuid,
    pub title: String,
    pub kind: String,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: chrono::DateTime<chrono::Utc>,
    pub audience: sqlx::types::Json<serde_json::Value>,
}

const MOBILISATION_FACTS: &str = "select community_id, title, kind, starts_at, ends_at, audience from mobilisations where id = $1";

pub async fn mobilisation_facts(db: &Db, id: Uuid) -> StoreResult<Option<MobilisationFacts>> {
    on_db!(db, pool => Ok(sqlx::query_as(MOBILISATION_FACTS).bind(id).fetch_optional(pool).await?))
}

const COMMUNITY_RESIDENTS: &str = "select distinct r.user_id from residents r
    join users u on u.id = r.user_id
    where r.community_id = $1 and r.user_id is not null and u.active order by r.user_id";

/// The accounts of the community's residents (active accounts only).
pub async fn community_residents(db: &Db, community_id: Uuid) -> StoreResult<Vec<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(COMMUNITY_RESIDENTS).bind(community_id)
        .fetch_all(pool).await?))
}
