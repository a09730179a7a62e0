//! What the registry's tables share: deactivation by a versioned update, and the ids a row owns
//! (a grid's workers, a team's members), kept in a link table and replaced whole on each save.

use std::collections::HashMap;

use uuid::Uuid;

use crate::store::{Db, StoreResult, missing_or_stale, now, on_db, stale_or_missing};

/// Marks row `id` inactive if its version is still `expected_version`; 404 or 412 otherwise.
/// `sql` is `update <table> set active = false, version = version + 1, updated_at = $3
/// where id = $1 and version = $2`, `exists_sql` is `select count(*) from <table> where id = $1`.
pub(crate) async fn deactivate(
    db: &Db,
    sql: &'static str,
    exists_sql: &'static str,
    id: Uuid,
    expected_version: i64,
) -> StoreResult<()> {
    let n = on_db!(db, pool => sqlx::query(sql).bind(id).bind(expected_version).bind(now())
        .execute(pool).await?.rows_affected());
    if n == 0 {
        return Err(missing_or_stale(db, exists_sql, id).await);
    }
    Ok(())
}

/// The statements of one link table between an owner row and the ids it owns.
pub(crate) struct Links {
    /// The ids owner `$1` owns, in order.
    pub of_owner: &'static str,
    /// `(owner, id)` for every owner in community `$1`, ordered by id.
    pub of_community: &'static str,
    /// Unlinks everything from owner `$1`.
    pub clear: &'static str,
    /// Links id `$2` to owner `$1`.
    pub add: &'static str,
}

impl Links {
    pub async fn of_owner(&self, db: &Db, owner: Uuid) -> StoreResult<Vec<Uuid>> {
        on_db!(db, pool => Ok(sqlx::query_scalar(self.of_owner).bind(owner).fetch_all(pool).await?))
    }

    /// Each of the community's `rows` made whole with the ids it owns.
    pub async fn attach<R, T>(
        &self,
        db: &Db,
        community_id: Uuid,
        rows: Vec<R>,
        id: impl Fn(&R) -> Uuid,
        whole: impl Fn(R, Vec<Uuid>) -> T,
    ) -> StoreResult<Vec<T>> {
        let pairs: Vec<(Uuid, Uuid)> = on_db!(db, pool =>
            sqlx::query_as(self.of_community).bind(community_id).fetch_all(pool).await?);
        let mut by_owner: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (owner, owned) in pairs {
            by_owner.entry(owner).or_default().push(owned);
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let owned = by_owner.remove(&id(&row)).unwrap_or_default();
                whole(row, owned)
            })
            .collect())
    }
}

/// The steps of a save that has links, inside its write transaction, for either backend.
pub(crate) trait SaveExec {
    /// After the insert or versioned update of row `id` wrote `written` rows: none means that
    /// the row is gone (404) or someone else changed it first (412).
    async fn check_written(
        &mut self,
        written: u64,
        exists_sql: &'static str,
        id: Uuid,
    ) -> StoreResult<()>;

    /// Makes `ids` the owner's links, in place of those it had.
    async fn replace_links(&mut self, links: &Links, owner: Uuid, ids: &[Uuid]) -> StoreResult<()>;
}

macro_rules! impl_save_exec {
    ($conn:ty) => {
        impl SaveExec for $conn {
            async fn check_written(
                &mut self,
                written: u64,
                exists_sql: &'static str,
                id: Uuid,
            ) -> StoreResult<()> {
                if written > 0 {
                    return Ok(());
                }
                let n: i64 = sqlx::query_scalar(exists_sql)
                    .bind(id)
                    .fetch_one(&mut *self)
                    .await?;
                Err(stale_or_missing(n > 0))
            }

            async fn replace_links(
                &mut self,
                links: &Links,
                owner: Uuid,
                ids: &[Uuid],
            ) -> StoreResult<()> {
                sqlx::query(links.clear)
                    .bind(owner)
                    .execute(&mut *self)
                    .await?;
                for id in ids {
                    sqlx::query(links.add)
                        .bind(owner)
                        .bind(id)
                        .execute(&mut *self)
                        .await?;
                }
                Ok(())
            }
        }
    };
}
impl_save_exec!(sqlx::SqliteConnection);
impl_save_exec!(sqlx::PgConnection);
