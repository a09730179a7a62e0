//! Storage: SQL only. One `Db` enum over the concrete pools; each query is written once and
//! expanded into both arms by `on_db!`, so both backends are type-checked on every build.
//!
//! One folder per capability (`accounts` ← `registry` ← `requests` ← `visits`, one way only;
//! `integrations` on `accounts` and `registry`, `records` reading the hours ledger and what it
//! refers to, `delivery` reading them all);
//! beside them the infrastructure every capability uses: `audit`, `idempotency`, `timers`,
//! `key_checks`.

pub mod accounts;
pub mod activities;
pub mod audit;
pub mod deliberation;
pub mod delivery;
pub mod idempotency;
pub mod imports;
pub mod integrations;
pub mod key_checks;
pub mod mediation;
pub mod mobilisation;
pub mod notices;
pub mod open311;
pub mod records;
pub mod registry;
pub mod requests;
pub mod timers;
pub mod visits;

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool, Transaction};

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same sqlx code against whichever backend is active.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("unique constraint violated")]
    Conflict,
    #[error("referenced row does not exist")]
    ForeignKey,
    #[error("the row was changed by someone else")]
    StaleVersion,
    /// A condition of the change no longer held (an offer already answered, a load cap reached).
    #[error("condition failed: {0}")]
    Guard(&'static str),
    #[error("unsupported database url: {0}")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database cannot be reached (down, restarting, no connection in time): try again.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("file: {0}")]
    Io(std::io::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::ForeignKey,
            _ if unreachable(&e) => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Database(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Errors that say the database is away rather than that the statement failed: no connection
/// in time, a broken one, PostgreSQL shutting down or starting (SQLSTATE class 08, 57P01–03), or
/// a SQLite file another process holds locked past the busy timeout (SQLITE_BUSY and its
/// extended codes, SQLITE_LOCKED; PostgreSQL's codes are five characters, so these cannot clash).
fn unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            c.starts_with("08")
                || matches!(&*c, "57P01" | "57P02" | "57P03" | "5" | "6" | "261" | "517")
        }),
        _ => false,
    }
}

/// The one clock of the storage layer: microsecond precision, so that values round-trip
/// identically through PostgreSQL (µs) and SQLite (text).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A write transaction. On SQLite it also holds this process's turn to write: writers queue
/// here in order instead of polling SQLite's busy handler, whose sleeps (up to 100 ms each) made
/// the tail latency of concurrent writes seconds long.
pub(crate) struct WriteTx<DB: sqlx::Database> {
    tx: Transaction<'static, DB>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    subject: Option<idempotency::Subject>,
}

impl<DB: sqlx::Database> WriteTx<DB> {
    /// Names the object this write is about, for a retry whose answer was lost.
    pub fn subject(&mut self, kind: &'static str, id: uuid::Uuid) {
        self.subject = Some(idempotency::Subject { kind, id });
    }
}

/// Commits; when the transaction runs for a request that holds an `Idempotency-Key`, the key is
/// marked committed in the same transaction, and nothing commits if the key was taken over.
macro_rules! commit_write_tx {
    ($self:ident, $mark:path) => {{
        let mut this = $self;
        if let Some(hold) = idempotency::Hold::current() {
            $mark(&mut this.tx, &hold, this.subject, now()).await?;
        }
        this.tx.commit().await?;
        Ok(())
    }};
}

impl WriteTx<sqlx::Sqlite> {
    pub async fn commit(self) -> StoreResult<()> {
        commit_write_tx!(self, idempotency::mark_committed_sqlite)
    }
}

impl WriteTx<sqlx::Postgres> {
    pub async fn commit(self) -> StoreResult<()> {
        commit_write_tx!(self, idempotency::mark_committed_postgres)
    }
}

impl<DB: sqlx::Database> std::ops::Deref for WriteTx<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        &self.tx
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for WriteTx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.tx
    }
}

/// One writer's turn per SQLite file in this process.
fn sqlite_turn(pool: &SqlitePool) -> Arc<tokio::sync::Mutex<()>> {
    static TURNS: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let file = pool.connect_options().get_filename().to_path_buf();
    let mut turns = TURNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    turns.entry(file).or_default().clone()
}

/// Write transactions: SQLite takes the write lock up front (`BEGIN IMMEDIATE`) so that two
/// writers never deadlock upgrading a read lock; PostgreSQL uses its ordinary MVCC `BEGIN`.
pub(crate) trait BeginWrite {
    type Database: sqlx::Database;
    async fn begin_write(&self) -> Result<WriteTx<Self::Database>, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<WriteTx<sqlx::Sqlite>, sqlx::Error> {
        let turn = sqlite_turn(self).lock_owned().await;
        Ok(WriteTx {
            tx: self.begin_with("BEGIN IMMEDIATE").await?,
            _turn: Some(turn),
            subject: None,
        })
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    async fn begin_write(&self) -> Result<WriteTx<sqlx::Postgres>, sqlx::Error> {
        Ok(WriteTx {
            tx: self.begin().await?,
            _turn: None,
            subject: None,
        })
    }
}

/// Leases the rows due at `now` until `lease_until`, at most `limit`, for a worker that runs in
/// any number of instances: `pg` takes them with `FOR UPDATE SKIP LOCKED`, `sqlite` under this
/// process's write turn (`BEGIN IMMEDIATE`). Both bind `$1` now, `$2` the lease's end, `$3` the
/// limit.
pub(crate) async fn lease_rows<T>(
    db: &Db,
    (pg, sqlite): (&'static str, &'static str),
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + Send
        + Unpin,
{
    Ok(match db {
        Db::Postgres(pool) => {
            sqlx::query_as(pg)
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
        Db::Sqlite(pool) => {
            let mut tx = pool.begin_write().await?;
            let rows = sqlx::query_as(sqlite)
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            rows
        }
    })
}

/// Writes that a capability adds to a transaction another capability owns (visits add the
/// grade change and the visits that follow a resident to the save of the resident record), so
/// that the owner needs no knowledge of them and both commit together.
pub trait TxWrites: Send + Sync {
    fn on_sqlite<'c>(
        &'c self,
        conn: &'c mut sqlx::SqliteConnection,
    ) -> futures_util::future::BoxFuture<'c, StoreResult<()>>;
    fn on_postgres<'c>(
        &'c self,
        conn: &'c mut sqlx::PgConnection,
    ) -> futures_util::future::BoxFuture<'c, StoreResult<()>>;
}

/// Lets `on_db!` arms call a `TxWrites` on either backend's connection with one expression.
pub(crate) trait ApplyIn<C> {
    async fn apply_in(&self, conn: &mut C) -> StoreResult<()>;
}

impl ApplyIn<sqlx::SqliteConnection> for dyn TxWrites + '_ {
    async fn apply_in(&self, conn: &mut sqlx::SqliteConnection) -> StoreResult<()> {
        self.on_sqlite(conn).await
    }
}

impl ApplyIn<sqlx::PgConnection> for dyn TxWrites + '_ {
    async fn apply_in(&self, conn: &mut sqlx::PgConnection) -> StoreResult<()> {
        self.on_postgres(conn).await
    }
}

impl Db {
    /// Opens a pool for `sqlite://…` or `postgres://…`. SQLite files are created if missing and
    /// run in WAL mode.
    pub async fn connect(url: &str, max_connections: u32, acquire: Duration) -> StoreResult<Self> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .connect_with(opts)
                .await?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire)
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Db::Sqlite(p) => {
                // PostgreSQL's migrator takes an advisory lock; SQLite's takes none, so
                // instances starting together on one file take turns through a lock file.
                let _turn = migration_lock(p).await?;
                sqlx::migrate!("./migrations/sqlite").run(p).await?
            }
            Db::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// True when the database answers and every migration this build knows is applied.
    pub async fn is_ready(&self) -> bool {
        const APPLIED: &str = "select count(*) from _sqlx_migrations where success = true";
        let expected = match self {
            Db::Sqlite(_) => sqlx::migrate!("./migrations/sqlite").iter().count(),
            Db::Postgres(_) => sqlx::migrate!("./migrations/postgres").iter().count(),
        } as i64;
        let applied: Result<i64, sqlx::Error> =
            on_db!(self, pool => sqlx::query_scalar(APPLIED).fetch_one(pool).await);
        matches!(applied, Ok(n) if n >= expected)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

/// An exclusive lock on `<database file>.migrate-lock`, held until the returned file is dropped.
async fn migration_lock(pool: &SqlitePool) -> StoreResult<Option<std::fs::File>> {
    let db = pool.connect_options().get_filename().to_path_buf();
    if db.as_os_str().is_empty() || db.to_string_lossy().contains(":memory:") {
        return Ok(None);
    }
    let mut path = db.into_os_string();
    path.push(".migrate-lock");
    let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        f.lock()?;
        Ok(f)
    })
    .await
    .map_err(|e| StoreError::Io(std::io::Error::other(e)))?
    .map_err(StoreError::Io)?;
    Ok(Some(file))
}

/// Hides a password in a connection URL before it reaches a log or an error message.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// After a conditional update touched no row: 404 if the row is gone, else 412 (stale version).
/// `exists_sql` is `select count(*) from <table> where id = $1`.
pub(crate) async fn missing_or_stale(
    db: &Db,
    exists_sql: &'static str,
    id: uuid::Uuid,
) -> StoreError {
    let n: Result<i64, sqlx::Error> =
        on_db!(db, pool => sqlx::query_scalar(exists_sql).bind(id).fetch_one(pool).await);
    match n {
        Ok(0) => StoreError::NotFound,
        Ok(_) => StoreError::StaleVersion,
        Err(e) => e.into(),
    }
}

/// The same check inside a transaction that already holds the write lock.
pub(crate) fn stale_or_missing(exists: bool) -> StoreError {
    if exists {
        StoreError::StaleVersion
    } else {
        StoreError::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_state_is_stored_as_its_text_and_an_unknown_stored_value_is_an_error() {
        use crate::domain::help_request::Status;
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        let text: String = sqlx::query_scalar("select $1")
            .bind(Status::InProgress)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(text, "in_progress");
        for s in Status::ALL {
            let back: Status = sqlx::query_scalar("select $1")
                .bind(s.as_str())
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(back, *s);
        }
        for bad in ["", "Escalated", "reopened"] {
            let read: Result<Status, _> = sqlx::query_scalar("select $1")
                .bind(bad)
                .fetch_one(&pool)
                .await;
            assert!(read.is_err(), "{bad:?} must not read as a state");
        }
    }

    #[test]
    fn redacts_password_but_keeps_user_and_host() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/huying"),
            "postgres://app:***@db:5432/huying"
        );
        assert_eq!(
            redact_url("sqlite://data/huying.db"),
            "sqlite://data/huying.db"
        );
    }
}
