//! Open311 storage: the requests civic clients post (`open311_requests`), and the reads Open311
//! makes of communities, service types, residents and help requests.
//!
//! May use: `registry` and `requests` tables in reads; writes only `open311_requests` (a placed
//! request's row goes in with its help request, through [`crate::store::TxWrites`]).

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::store::registry::service_types::ServiceTypeRow;
use crate::store::{BeginWrite, Db, StoreError, StoreResult, TxWrites, now, on_db};

pub mod feed;

/// A community as Open311 names it (`jurisdiction_id` is its code).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Jurisdiction {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

const BY_CODE: &str = "select id, code, name from communities where code = $1 and active";
const ACTIVE: &str = "select id, code, name from communities where active order by code limit 2";
const BY_ID: &str = "select id, code, name from communities where id = $1";

pub async fn jurisdiction(db: &Db, code: &str) -> StoreResult<Option<Jurisdiction>> {
    on_db!(db, pool => Ok(sqlx::query_as(BY_CODE).bind(code).fetch_optional(pool).await?))
}

pub async fn community(db: &Db, id: Uuid) -> StoreResult<Jurisdiction> {
    on_db!(db, pool => Ok(sqlx::query_as(BY_ID).bind(id).fetch_one(pool).await?))
}

/// Up to two active communities: one means the deployment serves one.
pub async fn first_two(db: &Db) -> StoreResult<Vec<Jurisdiction>> {
    on_db!(db, pool => Ok(sqlx::query_as(ACTIVE).fetch_all(pool).await?))
}

const SERVICES: &str =
    "select id, community_id, code, name, description, required_skills, default_urgency,
    respond_minutes, resolve_hours, active, version, created_at, updated_at
    from service_types where community_id = $1 and active order by code limit 500";
const SERVICE: &str =
    "select id, community_id, code, name, description, required_skills, default_urgency,
    respond_minutes, resolve_hours, active, version, created_at, updated_at
    from service_types where community_id = $1 and code = $2 and active";

/// The community's active catalogue, by code.
pub async fn services(db: &Db, community: Uuid) -> StoreResult<Vec<ServiceTypeRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(SERVICES).bind(community).fetch_all(pool).await?))
}

pub async fn service(db: &Db, community: Uuid, code: &str) -> StoreResult<Option<ServiceTypeRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(SERVICE).bind(community).bind(code).fetch_optional(pool).await?))
}

const RESIDENTS_BY_PHONE: &str = "select id from residents where community_id = $1 and phone = $2 and active order by id limit 2";

/// Up to two active residents of the community with this phone: one is whom a caller with that
/// phone speaks for; two (a shared family phone) is for staff to settle.
pub async fn residents_by_phone(db: &Db, community: Uuid, phone: &str) -> StoreResult<Vec<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(RESIDENTS_BY_PHONE).bind(community).bind(phone).fetch_all(pool).await?))
}

/// A posted Open311 request as kept.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IntakeRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub client_id: Uuid,
    pub service_type_id: Uuid,
    pub state: String,
    pub description: Option<String>,
    pub urgency: Option<String>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address_string: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub media_url: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub reject_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const INSERT: &str = "insert into open311_requests (id, community_id, client_id, service_type_id, state,
        description, urgency, window_start, window_end, first_name, last_name, phone, email, address_string,
        lat, lng, media_url, device_id, account_id, reject_reason, version, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)";

macro_rules! bind_intake {
    ($q:expr, $r:expr) => {{
        let r: &IntakeRow = $r;
        $q.bind(r.id)
            .bind(r.community_id)
            .bind(r.client_id)
            .bind(r.service_type_id)
            .bind(&r.state)
            .bind(&r.description)
            .bind(&r.urgency)
            .bind(r.window_start)
            .bind(r.window_end)
            .bind(&r.first_name)
            .bind(&r.last_name)
            .bind(&r.phone)
            .bind(&r.email)
            .bind(&r.address_string)
            .bind(r.lat)
            .bind(r.lng)
            .bind(&r.media_url)
            .bind(&r.device_id)
            .bind(&r.account_id)
            .bind(&r.reject_reason)
            .bind(r.version)
            .bind(r.created_at)
            .bind(r.updated_at)
    }};
}

/// A request waiting in triage: nothing else is written with it.
pub async fn insert_pending(db: &Db, r: &IntakeRow) -> StoreResult<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("open311_request", r.id);
        bind_intake!(sqlx::query(INSERT), r).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    })
}

/// The row of a request placed at once, written in its help request's transaction.
pub struct PlacedIntake(pub IntakeRow);

impl TxWrites for PlacedIntake {
    fn on_sqlite<'c>(
        &'c self,
        conn: &'c mut sqlx::SqliteConnection,
    ) -> BoxFuture<'c, StoreResult<()>> {
        Box::pin(async move {
            bind_intake!(sqlx::query(INSERT), &self.0)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    }
    fn on_postgres<'c>(
        &'c self,
        conn: &'c mut sqlx::PgConnection,
    ) -> BoxFuture<'c, StoreResult<()>> {
        Box::pin(async move {
            bind_intake!(sqlx::query(INSERT), &self.0)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    }
}

const SETTLE: &str = "update open311_requests set state = $3, reject_reason = $4, version = version + 1, updated_at = $5
    where id = $1 and version = $2 and state = 'pending'";

/// A pending request's move out of triage, in its help request's transaction when it is linked:
/// zero rows (someone settled it first) fails the whole write.
pub struct Settle {
    pub id: Uuid,
    pub version: i64,
    pub state: &'static str,
    pub reason: Option<String>,
}

macro_rules! settle {
    ($conn:expr, $s:expr) => {{
        let s: &Settle = $s;
        let n = sqlx::query(SETTLE)
            .bind(s.id)
            .bind(s.version)
            .bind(s.state)
            .bind(&s.reason)
            .bind(now())
            .execute($conn)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Guard("open311_request_settled"));
        }
        Ok(())
    }};
}

impl TxWrites for Settle {
    fn on_sqlite<'c>(
        &'c self,
        conn: &'c mut sqlx::SqliteConnection,
    ) -> BoxFuture<'c, StoreResult<()>> {
        Box::pin(async move { settle!(&mut *conn, self) })
    }
    fn on_postgres<'c>(
        &'c self,
        conn: &'c mut sqlx::PgConnection,
    ) -> BoxFuture<'c, StoreResult<()>> {
        Box::pin(async move { settle!(&mut *conn, self) })
    }
}

/// Turns a pending request down; `Guard` when it is no longer pending at that version.
pub async fn reject(db: &Db, s: &Settle) -> StoreResult<()> {
    on_db!(db, pool => settle!(pool, s))
}

const GET_INTAKE: &str = "select id, community_id, client_id, service_type_id, state, description, urgency,
    window_start, window_end, first_name, last_name, phone, email, address_string, lat, lng, media_url,
    device_id, account_id, reject_reason, version, created_at, updated_at from open311_requests where id = $1";

pub async fn get_intake(db: &Db, id: Uuid) -> StoreResult<IntakeRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET_INTAKE).bind(id).fetch_one(pool).await?))
}

const PENDING: &str = "select id, community_id, client_id, service_type_id, state, description, urgency,
    window_start, window_end, first_name, last_name, phone, email, address_string, lat, lng, media_url,
    device_id, account_id, reject_reason, version, created_at, updated_at from open311_requests
    where community_id = $1 and state = 'pending' and ($2 is null or id < $2) order by id desc limit $3";

/// The community's requests waiting in triage, newest first.
pub async fn pending(
    db: &Db,
    community: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<IntakeRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(PENDING).bind(community).bind(before).bind(limit).fetch_all(pool).await?))
}
