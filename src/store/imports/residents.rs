//! Residents written from a sheet: new ones inserted in batches, changed ones updated at the
//! version they were read at (someone else's change in between fails the whole import).

use uuid::Uuid;

use crate::store::audit::{NewAudit, write_audit};
use crate::store::registry::residents::{ResidentRow, search_key};
use crate::store::{ApplyIn, BeginWrite, Db, StoreError, StoreResult, TxWrites, now, on_db};

/// Rows per multi-row insert: 27 parameters a row stays under SQLite's 32,766.
const CHUNK: usize = 1000;

const INSERT: &str = "insert into residents (id, community_id, grid_id, user_id, name, gender, birth_date, phone,
        id_card_cipher, id_card_hash, id_card_masked, building, unit, room, address, lat, lng, care_categories,
        emergency_contacts, care_level, consent, notes, active, version, created_at, updated_at, search_key) ";
const INSERT_CATEGORIES: &str = "insert into resident_care_categories (resident_id, category) ";
const UPDATE: &str = "update residents set grid_id = $3, name = $4, gender = $5, birth_date = $6,
        phone = $7, id_card_cipher = $8, id_card_hash = $9, id_card_masked = $10, building = $11, unit = $12,
        room = $13, address = $14, care_categories = $15, care_level = $16, notes = $17,
        version = version + 1, updated_at = $18, search_key = $19
    where id = $1 and version = $2";
const CLEAR_CATEGORIES: &str = "delete from resident_care_categories where resident_id = $1";

/// One import's writes.
pub struct ResidentImport<'a> {
    pub creates: &'a [ResidentRow],
    /// Changed records with the version they were read at.
    pub updates: &'a [(ResidentRow, i64)],
    /// What other capabilities write with the saves (grades), applied after the rows.
    pub also: &'a [&'a dyn TxWrites],
    pub audit: NewAudit<'a>,
}

/// Writes the whole import or nothing; a record changed since it was read is
/// [`StoreError::StaleVersion`], an ID number taken meanwhile [`StoreError::Conflict`].
pub async fn apply(db: &Db, w: &ResidentImport<'_>) -> StoreResult<()> {
    let t = now();
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for chunk in w.creates.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::new(INSERT);
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.id).push_bind(r.community_id).push_bind(r.grid_id).push_bind(r.user_id)
                    .push_bind(r.name.clone()).push_bind(r.gender.clone()).push_bind(r.birth_date)
                    .push_bind(r.phone.clone()).push_bind(r.id_card_cipher.clone()).push_bind(r.id_card_hash.clone())
                    .push_bind(r.id_card_masked.clone()).push_bind(r.building.clone()).push_bind(r.unit.clone())
                    .push_bind(r.room.clone()).push_bind(r.address.clone()).push_bind(r.lat).push_bind(r.lng)
                    .push_bind(r.care_categories.clone()).push_bind(r.emergency_contacts.clone())
                    .push_bind(r.care_level.clone()).push_bind(r.consent.clone()).push_bind(r.notes.clone())
                    .push_bind(true).push_bind(1i64).push_bind(t).push_bind(t).push_bind(search_key(r));
            });
            q.build().execute(&mut *tx).await?;
        }
        for (r, version) in w.updates {
            let n = sqlx::query(UPDATE).bind(r.id).bind(version).bind(r.grid_id).bind(&r.name).bind(&r.gender)
                .bind(r.birth_date).bind(&r.phone).bind(&r.id_card_cipher).bind(&r.id_card_hash)
                .bind(&r.id_card_masked).bind(&r.building).bind(&r.unit).bind(&r.room).bind(&r.address)
                .bind(&r.care_categories).bind(&r.care_level).bind(&r.notes).bind(t).bind(search_key(r))
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::StaleVersion);
            }
            sqlx::query(CLEAR_CATEGORIES).bind(r.id).execute(&mut *tx).await?;
        }
        let categories: Vec<(Uuid, &str)> = w.creates.iter().chain(w.updates.iter().map(|(r, _)| r))
            .flat_map(|r| r.care_categories.split(',').filter(|c| !c.is_empty()).map(|c| (r.id, c)))
            .collect();
        for chunk in categories.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::new(INSERT_CATEGORIES);
            q.push_values(chunk, |mut b, (id, c)| {
                b.push_bind(*id).push_bind(c.to_string());
            });
            q.build().execute(&mut *tx).await?;
        }
        for also in w.also {
            also.apply_in(&mut *tx).await?;
        }
        write_audit!(&mut *tx, &w.audit, t);
        tx.commit().await?;
        Ok(())
    })
}

const OF_COMMUNITY: &str = "select id, community_id, grid_id, user_id, name, gender, birth_date, phone, id_card_cipher,
    id_card_hash, id_card_masked, building, unit, room, address, lat, lng, care_categories, emergency_contacts,
    care_level, consent, notes, active, version, created_at, updated_at from residents where community_id = $1";

/// Every resident record of the community, active or not: what a sheet's rows are matched
/// against (by ID number, else by phone).
pub async fn of_community(db: &Db, community_id: Uuid) -> StoreResult<Vec<ResidentRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OF_COMMUNITY).bind(community_id).fetch_all(pool).await?))
}
