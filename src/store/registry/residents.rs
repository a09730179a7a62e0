//! Residents (居民). ID-card numbers arrive here already encrypted.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::accounts::users::GrantExec;
use crate::store::registry::grids::grid_served_by;
use crate::store::{ApplyIn, BeginWrite, Db, StoreResult, TxWrites, now, on_db, stale_or_missing};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResidentRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub grid_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub name: String,
    pub gender: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub id_card_cipher: Option<Vec<u8>>,
    pub id_card_hash: Option<String>,
    pub id_card_masked: Option<String>,
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// Comma-separated, sorted; the join table holds the same set for filtering.
    pub care_categories: String,
    pub emergency_contacts: Json<Value>,
    pub care_level: Option<String>,
    pub consent: Json<Value>,
    pub notes: Option<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const INSERT: &str = "insert into residents (id, community_id, grid_id, user_id, name, gender, birth_date, phone,
        id_card_cipher, id_card_hash, id_card_masked, building, unit, room, address, lat, lng, care_categories,
        emergency_contacts, care_level, consent, notes, active, version, created_at, updated_at, search_key)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
        true, 1, $23, $23, $24)";
const UPDATE: &str = "update residents set grid_id = $3, user_id = $4, name = $5, gender = $6, birth_date = $7,
        phone = $8, id_card_cipher = $9, id_card_hash = $10, id_card_masked = $11, building = $12, unit = $13,
        room = $14, address = $15, lat = $16, lng = $17, care_categories = $18, emergency_contacts = $19,
        care_level = $20, consent = $21, notes = $22, active = $23, version = version + 1, updated_at = $24,
        search_key = $25
    where id = $1 and version = $2";
const GET: &str = "select id, community_id, grid_id, user_id, name, gender, birth_date, phone, id_card_cipher, id_card_hash,
    id_card_masked, building, unit, room, address, lat, lng, care_categories, emergency_contacts, care_level, consent,
    notes, active, version, created_at, updated_at from residents where id = $1";
const EXISTS: &str = "select count(*) from residents where id = $1";
const CLEAR_CATEGORIES: &str = "delete from resident_care_categories where resident_id = $1";
const ADD_CATEGORY: &str =
    "insert into resident_care_categories (resident_id, category) values ($1, $2)";

/// Creates (`expected_version` = None) or updates a resident with their care categories; a
/// linked account is granted the resident role, and what other capabilities add (`also`) is
/// written, in the same transaction.
pub async fn save(
    db: &Db,
    r: &ResidentRow,
    expected_version: Option<i64>,
    also: &dyn TxWrites,
) -> StoreResult<ResidentRow> {
    let t = now();
    let key = search_key(r);
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("resident", r.id);
        match expected_version {
            None => {
                sqlx::query(INSERT).bind(r.id).bind(r.community_id).bind(r.grid_id).bind(r.user_id).bind(&r.name)
                    .bind(&r.gender).bind(r.birth_date).bind(&r.phone).bind(&r.id_card_cipher).bind(&r.id_card_hash)
                    .bind(&r.id_card_masked).bind(&r.building).bind(&r.unit).bind(&r.room).bind(&r.address)
                    .bind(r.lat).bind(r.lng).bind(&r.care_categories).bind(&r.emergency_contacts).bind(&r.care_level)
                    .bind(&r.consent).bind(&r.notes).bind(t).bind(&key)
                    .execute(&mut *tx).await?;
            }
            Some(v) => {
                let n = sqlx::query(UPDATE).bind(r.id).bind(v).bind(r.grid_id).bind(r.user_id).bind(&r.name)
                    .bind(&r.gender).bind(r.birth_date).bind(&r.phone).bind(&r.id_card_cipher).bind(&r.id_card_hash)
                    .bind(&r.id_card_masked).bind(&r.building).bind(&r.unit).bind(&r.room).bind(&r.address)
                    .bind(r.lat).bind(r.lng).bind(&r.care_categories).bind(&r.emergency_contacts).bind(&r.care_level)
                    .bind(&r.consent).bind(&r.notes).bind(r.active).bind(t).bind(&key)
                    .execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    let e: i64 = sqlx::query_scalar(EXISTS).bind(r.id).fetch_one(&mut *tx).await?;
                    return Err(stale_or_missing(e > 0));
                }
                sqlx::query(CLEAR_CATEGORIES).bind(r.id).execute(&mut *tx).await?;
            }
        }
        for c in r.care_categories.split(',').filter(|c| !c.is_empty()) {
            sqlx::query(ADD_CATEGORY).bind(r.id).bind(c).execute(&mut *tx).await?;
        }
        if let Some(user) = r.user_id {
            tx.ensure_grant(user, "resident", r.community_id).await?;
        }
        also.apply_in(&mut *tx).await?;
        let saved: ResidentRow = sqlx::query_as(GET).bind(r.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(saved)
    })
}

/// What `q` matches besides the phone: the name, the address and building-unit-room.
pub(crate) fn search_key(r: &ResidentRow) -> String {
    let place = format!(
        "{}-{}-{}",
        r.building.as_deref().unwrap_or(""),
        r.unit.as_deref().unwrap_or(""),
        r.room.as_deref().unwrap_or("")
    );
    crate::domain::text::search_key([r.name.as_str(), r.address.as_deref().unwrap_or(""), &place])
}

pub async fn get(db: &Db, id: Uuid) -> StoreResult<ResidentRow> {
    on_db!(db, pool => Ok(sqlx::query_as(GET).bind(id).fetch_one(pool).await?))
}

/// Filters of the resident list; `None` means "any".
#[derive(Debug, Default)]
pub struct ResidentFilter {
    pub community_id: Uuid,
    pub grid_id: Option<Uuid>,
    pub care_level: Option<String>,
    pub care_category: Option<String>,
    /// A LIKE pattern matched against name, phone and address.
    pub pattern: Option<String>,
    /// Only residents of the grids this grid worker looks after.
    pub grid_worker: Option<Uuid>,
    /// Only the resident linked to this account.
    pub user_id: Option<Uuid>,
    /// Only residents whose active visit plan has this user on its care team.
    pub team_member: Option<Uuid>,
    pub include_inactive: bool,
}

const LIST: &str = concat!(
    "select id, community_id, grid_id, user_id, name, gender, birth_date, phone, id_card_cipher, id_card_hash,
    id_card_masked, building, unit, room, address, lat, lng, care_categories, emergency_contacts, care_level, consent,
    notes, active, version, created_at, updated_at from residents r
    where r.community_id = $1
      and ($2 is null or r.id > $2)
      and ($3 is null or r.grid_id = $3)
      and ($4 is null or r.care_level = $4)
      and ($5 is null or exists (select 1 from resident_care_categories c where c.resident_id = r.id and c.category = $5))
      and ($6 is null or r.search_key like $6 escape '\\' or r.phone like $6 escape '\\')
      and ($7 is null or ",
    grid_served_by!("r.grid_id", "$7"),
    ")
      and ($8 is null or r.user_id = $8)
      and ($9 or r.active)
      and ($11 is null or r.id in (select p.resident_id from visit_plans p
           join care_team_members m on m.plan_id = p.id where p.active and m.user_id = $11))
    order by r.id limit $10"
);

pub async fn list(
    db: &Db,
    f: &ResidentFilter,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<ResidentRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(LIST)
        .bind(f.community_id).bind(after).bind(f.grid_id).bind(&f.care_level).bind(&f.care_category)
        .bind(&f.pattern).bind(f.grid_worker).bind(f.user_id).bind(f.include_inactive).bind(limit)
        .bind(f.team_member).fetch_all(pool).await?))
}

const BY_USER: &str =
    "select id from residents where user_id = $1 and community_id = $2 and active";

/// The resident records linked to an account in a community.
pub async fn ids_of_user(db: &Db, user_id: Uuid, community_id: Uuid) -> StoreResult<Vec<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(BY_USER).bind(user_id).bind(community_id).fetch_all(pool).await?))
}

const RECORDS_OF_USER: &str =
    "select community_id, 'resident' as kind, id from residents where user_id = $1 and active
    union all select community_id, 'volunteer' as kind, id from volunteers where user_id = $1
    order by 1, 2, 3";

/// Every active resident and volunteer record linked to an account, as (community, kind, id).
pub async fn records_of_user(db: &Db, user_id: Uuid) -> StoreResult<Vec<(Uuid, String, Uuid)>> {
    on_db!(db, pool => Ok(sqlx::query_as(RECORDS_OF_USER).bind(user_id).fetch_all(pool).await?))
}

const EXCLUDE: &str = "insert into resident_exclusions (resident_id, volunteer_id, reason, created_by, created_at)
    values ($1, $2, $3, $4, $5) on conflict (resident_id, volunteer_id) do update set reason = excluded.reason";
const UNEXCLUDE: &str =
    "delete from resident_exclusions where resident_id = $1 and volunteer_id = $2";
const EXCLUSIONS: &str =
    "select volunteer_id from resident_exclusions where resident_id = $1 order by volunteer_id";

/// The resident does not want this volunteer sent to them again.
pub async fn exclude(
    db: &Db,
    resident_id: Uuid,
    volunteer_id: Uuid,
    reason: Option<&str>,
    by: Uuid,
) -> StoreResult<()> {
    on_db!(db, pool => {
        sqlx::query(EXCLUDE).bind(resident_id).bind(volunteer_id).bind(reason).bind(by).bind(now())
            .execute(pool).await?;
    });
    Ok(())
}

/// Whether an exclusion was there to remove.
pub async fn unexclude(db: &Db, resident_id: Uuid, volunteer_id: Uuid) -> StoreResult<bool> {
    on_db!(db, pool => Ok(sqlx::query(UNEXCLUDE).bind(resident_id).bind(volunteer_id).execute(pool).await?
        .rows_affected() > 0))
}

pub async fn exclusions(db: &Db, resident_id: Uuid) -> StoreResult<Vec<Uuid>> {
    on_db!(db, pool => Ok(sqlx::query_scalar(EXCLUSIONS).bind(resident_id).fetch_all(pool).await?))
}
