//! Volunteers written from a sheet: the new accounts, their volunteer role (and that of the
//! linked ones), the new profiles with their skills, in batches; changed profiles updated at
//! the version they were read at. A phone taken or a profile changed meanwhile fails it all.

use uuid::Uuid;

use crate::domain::text::search_key;
use crate::store::accounts::users::search_key as user_search_key;
use crate::store::audit::{NewAudit, write_audit};
use crate::store::registry::volunteers::VolunteerRow;
use crate::store::{BeginWrite, Db, StoreError, StoreResult, now, on_db};

/// Rows per multi-row insert: 19 parameters a row stays under SQLite's 32,766.
const CHUNK: usize = 1000;

const INSERT_USERS: &str =
    "insert into users (id, username, phone, display_name, password_hash, active, version,
        created_at, updated_at, search_key) ";
/// A grant the account already has (given meanwhile, or by a linked account's earlier role)
/// is kept as it is.
const INSERT_GRANTS: &str =
    "insert into role_grants (id, user_id, role, community_id, granted_by, created_at) ";
const GRANTS_TAIL: &str = " on conflict do nothing";
const INSERT_VOLUNTEERS: &str = "insert into volunteers (id, community_id, user_id, name, phone, home_grid_id, lat, lng,
        max_concurrent, skills, availability, party_member, status, version, created_at, updated_at, cell_y, cell_x,
        search_key) ";
const INSERT_SKILLS: &str = "insert into volunteer_skills (volunteer_id, skill) ";
/// What a sheet speaks of; location and availability are the volunteer's own.
const UPDATE: &str = "update volunteers set name = $3, phone = $4, home_grid_id = $5, max_concurrent = $6,
        skills = $7, party_member = $8, status = $9, version = version + 1, updated_at = $10, search_key = $11
    where id = $1 and version = $2";
const CLEAR_SKILLS: &str = "delete from volunteer_skills where volunteer_id = $1";

/// An account the import creates: no usable password until its owner signs in another way.
pub struct NewAccount {
    pub id: Uuid,
    pub phone: String,
    pub display_name: String,
}

/// One import's writes.
pub struct VolunteerImport<'a> {
    pub accounts: &'a [NewAccount],
    /// The one hash every new account gets: of a secret nobody keeps.
    pub password_hash: &'a str,
    /// Accounts that get the volunteer role here (the new ones and the linked ones).
    pub grants: &'a [Uuid],
    pub granted_by: Uuid,
    pub creates: &'a [VolunteerRow],
    /// Changed profiles with the version they were read at.
    pub updates: &'a [(VolunteerRow, i64)],
    pub audit: NewAudit<'a>,
}

fn skills_of(v: &VolunteerRow) -> impl Iterator<Item = (Uuid, &str)> {
    v.skills
        .split(',')
        .filter(|s| !s.is_empty())
        .map(move |s| (v.id, s))
}

/// Writes the whole import or nothing: a profile changed since it was read is
/// [`StoreError::StaleVersion`], a phone taken meanwhile [`StoreError::Conflict`].
pub async fn apply(db: &Db, w: &VolunteerImport<'_>) -> StoreResult<()> {
    let t = now();
    let community_id = w.audit.community_id;
    on_db!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for chunk in w.accounts.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::new(INSERT_USERS);
            q.push_values(chunk, |mut b, a| {
                b.push_bind(a.id).push_bind(None::<String>).push_bind(a.phone.clone())
                    .push_bind(a.display_name.clone()).push_bind(w.password_hash.to_string()).push_bind(true)
                    .push_bind(1i64).push_bind(t).push_bind(t)
                    .push_bind(user_search_key(&a.display_name, None));
            });
            q.build().execute(&mut *tx).await?;
        }
        for chunk in w.grants.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::new(INSERT_GRANTS);
            q.push_values(chunk, |mut b, user_id| {
                b.push_bind(Uuid::now_v7()).push_bind(*user_id).push_bind("volunteer").push_bind(community_id)
                    .push_bind(Some(w.granted_by)).push_bind(t);
            });
            q.push(GRANTS_TAIL);
            q.build().execute(&mut *tx).await?;
        }
        for chunk in w.creates.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::new(INSERT_VOLUNTEERS);
            q.push_values(chunk, |mut b, v| {
                b.push_bind(v.id).push_bind(v.community_id).push_bind(v.user_id).push_bind(v.name.clone())
                    .push_bind(v.phone.clone()).push_bind(v.home_grid_id).push_bind(v.lat).push_bind(v.lng)
                    .push_bind(v.max_concurrent).push_bind(v.skills.clone()).push_bind(v.availability.clone())
                    .push_bind(v.party_member).push_bind(v.status).push_bind(1i64).push_bind(t).push_bind(t)
                    .push_bind(None::<i64>).push_bind(None::<i64>).push_bind(search_key([v.name.as_str()]));
            });
            q.build().execute(&mut *tx).await?;
        }
        for (v, version) in w.updates {
            let n = sqlx::query(UPDATE).bind(v.id).bind(version).bind(&v.name).bind(&v.phone)
                .bind(v.home_grid_id).bind(v.max_concurrent).bind(&v.skills).bind(v.party_member)
                .bind(v.status).bind(t).bind(search_key([v.name.as_str()]))
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::StaleVersion);
            }
            sqlx::query(CLEAR_SKILLS).bind(v.id).execute(&mut *tx).await?;
        }
        let skills: Vec<(Uuid, &str)> = w.creates.iter().chain(w.updates.iter().map(|(v, _)| v))
            .flat_map(skills_of)
            .collect();
        for chunk in skills.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::new(INSERT_SKILLS);
            q.push_values(chunk, |mut b, (id, s)| {
                b.push_bind(*id).push_bind(s.to_string());
            });
            q.build().execute(&mut *tx).await?;
        }
        write_audit!(&mut *tx, &w.audit, t);
        tx.commit().await?;
        Ok(())
    })
}

const OF_COMMUNITY: &str = "select id, community_id, user_id, name, phone, home_grid_id, lat, lng, max_concurrent,
    skills, availability, party_member, status, version, created_at, updated_at from volunteers where community_id = $1";

/// Every volunteer profile of the community, whatever its status: what a sheet's rows are
/// matched against.
pub async fn of_community(db: &Db, community_id: Uuid) -> StoreResult<Vec<VolunteerRow>> {
    on_db!(db, pool => Ok(sqlx::query_as(OF_COMMUNITY).bind(community_id).fetch_all(pool).await?))
}

/// An account found by its phone, with one of its roles (none: `role` is null).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRole {
    pub id: Uuid,
    pub phone: String,
    pub active: bool,
    pub role: Option<String>,
    pub community_id: Option<Uuid>,
}

const BY_PHONES: &str = "select u.id, u.phone, u.active, g.role, g.community_id
    from users u left join role_grants g on g.user_id = u.id where u.phone in ";

/// The accounts with these phones, a row per role.
pub async fn accounts_by_phone(db: &Db, phones: &[String]) -> StoreResult<Vec<AccountRole>> {
    let mut found = Vec::new();
    for chunk in phones.chunks(CHUNK) {
        on_db!(db, pool => {
            let mut q = sqlx::QueryBuilder::new(BY_PHONES);
            let mut list = q.separated(", ");
            list.push_unseparated("(");
            for phone in chunk {
                list.push_bind(phone.clone());
            }
            list.push_unseparated(")");
            let rows: Vec<AccountRole> = q.build_query_as().fetch_all(pool).await?;
            found.extend(rows);
        });
    }
    Ok(found)
}
