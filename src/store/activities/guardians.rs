//! Guardians of child residents and the people they allow to pick the child up. A pick-up
//! person's phone is kept encrypted; sign-out matches it by its keyed hash.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{BeginWrite, Db, StoreResult, on_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GuardianRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub child_id: Uuid,
    pub guardian_resident_id: Uuid,
    pub guardian_user_id: Uuid,
    pub relation: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    /// The guardian's name, from their resident record.
    pub guardian_name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PickupRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub child_id: Uuid,
    pub name: String,
    pub phone_masked: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A pick-up person as written: the phone encrypted, hashed and masked by the caller.
#[derive(Debug, Clone)]
pub struct NewPickup {
    pub row: PickupRow,
    pub phone_cipher: Vec<u8>,
    pub phone_hash: String,
}

/// A child as their guardian sees them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChildRow {
    pub id: Uuid,
    pub community_id: Uuid,
    pub name: String,
    pub birth_date: Option<chrono::NaiveDate>,
    pub relation: Option<String>,
}

const INSERT: &str = "insert into guardians (id, community_id, child_id, guardian_resident_id,
    guardian_user_id, relation, created_by, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8)";
macro_rules! select_guardians {
    () => {
        "select g.id, g.community_id, g.child_id, g.guardian_resident_id, g.guardian_user_id,
        g.relation, g.created_by, g.created_at, r.name as guardian_name
    from guardians g join residents r on r.id = g.guardian_resident_id "
    };
}
const GET: &str = concat!(select_guardians!(), "where g.id = $1");
const OF_CHILD: &str = concat!(select_guardians!(), "where g.child_id = $1 order by g.id");
const IS_GUARDIAN: &str =
    "select count(*) from guardians where child_id = $1 and guardian_user_id = $2";
const CHILDREN: &str = "select c.id, c.community_id, c.name, c.birth_date, g.relation
    from guardians g join residents c on c.id = g.child_id
    where g.guardian_user_id = $1 order by c.id";
const GUARDIAN_PHONES: &str = "select r.name, r.phone from guardians g
    join residents r on r.id = g.guardian_resident_id where g.child_id = $1";
const INSERT_PICKUP: &str = "insert into pickup_people (id, community_id, child_id, name,
    phone_cipher, phone_hash, phone_masked, created_by, created_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const PICKUP_COLUMNS: &str = "select id, community_id, child_id, name, phone_masked, created_by,
    created_at from pickup_people where child_id = $1 order by id";
const PICKUP_BY_HASH: &str = "select id, community_id, child_id, name, phone_masked, created_by,
    created_at from pickup_people where child_id = $1 and phone_hash = $2";

/// Records a guardian; `Conflict` when this guardian is recorded for the child already.
pub async fn insert(db: &Db, g: &GuardianRow) -> StoreResult<GuardianRow> {
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("guardian", g.id);
        sqlx::query(INSERT).bind(g.id).bind(g.community_id).bind(g.child_id)
            .bind(g.guardian_resident_id).bind(g.guardian_user_id).bind(&g.relation)
            .bind(g.created_by).bind(g.created_at).execute(&mut *tx).await?;
        let row = sqlx::query_as(GET).bind(g.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    })
}

pub async fn of_child(db: &Db, child_id: Uuid) -> StoreResult<Vec<GuardianRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OF_CHILD).bind(child_id).fetch_all(pool).await?))
}

pub async fn is_guardian(db: &Db, child_id: Uuid, user_id: Uuid) -> StoreResult<bool> {
    let n: i64 = on_db!(db, pool => sqlx::query_scalar(IS_GUARDIAN).bind(child_id).bind(user_id)
        .fetch_one(pool).await?);
    Ok(n > 0)
}

/// The children the user is a guardian of.
pub async fn children_of(db: &Db, user_id: Uuid) -> StoreResult<Vec<ChildRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(CHILDREN).bind(user_id).fetch_all(pool).await?))
}

/// The guardians' names and phones (as their resident records hold them).
pub async fn guardian_phones(
    db: &Db,
    child_id: Uuid,
) -> StoreResult<Vec<(String, Option<String>)>> {
    on_db!(db, pool => Ok(sqlx::query_as(GUARDIAN_PHONES).bind(child_id).fetch_all(pool).await?))
}

/// Records a pick-up person; `Conflict` when the phone is on the child's list already.
pub async fn insert_pickup(db: &Db, n: &NewPickup) -> StoreResult<()> {
    let p = &n.row;
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        tx.subject("pickup_person", p.id);
        sqlx::query(INSERT_PICKUP).bind(p.id).bind(p.community_id).bind(p.child_id).bind(&p.name)
            .bind(&n.phone_cipher).bind(&n.phone_hash).bind(&p.phone_masked).bind(p.created_by)
            .bind(p.created_at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    })
}

pub async fn pickups(db: &Db, child_id: Uuid) -> StoreResult<Vec<PickupRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(PICKUP_COLUMNS).bind(child_id).fetch_all(pool).await?))
}

/// The child's pick-up person with this phone (by its keyed hash), if any.
pub async fn pickup_by_phone(
    db: &Db,
    child_id: Uuid,
    phone_hash: &str,
) -> StoreResult<Option<PickupRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(PICKUP_BY_HASH).bind(child_id).bind(phone_hash)
        .fetch_optional(pool).await?))
}
