//! Connecting, migrating and probing the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use pi_domain::RepoError;
use pi_domain::health::HealthProbe;
use pi_migration::{Migrator, MigratorTrait};
use sea_orm::sqlx;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, TransactionTrait,
};

/// The SQL engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Engine {
    /// Lower-case name, for logs and health output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Errors of connecting and migrating.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names a database the store does not support.
    #[error("unsupported database URL scheme (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// Connecting failed (the cause is the source, printed after this).
    #[error("could not connect to the {engine} database")]
    Connect {
        /// The engine that was tried.
        engine: &'static str,
        /// The driver's error.
        #[source]
        source: DbErr,
    },
    /// Running migrations failed (the cause is the source).
    #[error("database migration failed")]
    Migrate(#[source] DbErr),
}

/// An open connection pool plus the engine it talks to.
#[derive(Debug, Clone)]
pub struct Database {
    conn: DatabaseConnection,
    engine: Engine,
    statements: Arc<AtomicU64>,
    /// SQLite: the URL the pool was opened with (migrations open their own connection to it;
    /// a SQLite URL holds no secret). `None` for PostgreSQL.
    sqlite_url: Option<Arc<str>>,
}

/// Counts a failure to get a pool connection within the acquire timeout: every connection
/// was busy for that long (`pi_db_pool_acquire_timeouts_total`). sqlx does not expose how many
/// tasks wait for a connection, so this counter and `in_use` reaching `max` are the signals of
/// an exhausted pool.
pub(crate) fn observe(e: &DbErr) {
    if matches!(
        e,
        DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout)
    ) {
        count_acquire_timeout();
    }
}

pub(crate) fn count_acquire_timeout() {
    metrics::counter!("pi_db_pool_acquire_timeouts_total").increment(1);
}

/// Maps a driver error to the domain's [`RepoError`] with what was being done: a
/// [`StorageUnavailable`] one when [`unavailable_reason`] says so.
pub(crate) fn repo_err(context: &'static str) -> impl FnOnce(DbErr) -> RepoError {
    move |e| {
        observe(&e);
        match unavailable_reason(&e) {
            Some(reason) => RepoError::unavailable(reason, context),
            None => RepoError(anyhow::Error::new(e).context(context)),
        }
    }
}

/// [`repo_err`] for an error of sqlx itself (raw pool connections).
pub(crate) fn sqlx_repo_err(context: &'static str) -> impl FnOnce(sqlx::Error) -> RepoError {
    move |e| {
        if matches!(e, sqlx::Error::PoolTimedOut) {
            count_acquire_timeout();
        }
        match sqlx_unavailable_reason(&e) {
            Some(reason) => RepoError::unavailable(reason, context),
            None => RepoError(anyhow::Error::new(e).context(context)),
        }
    }
}

/// Why `e` means the database cannot serve right now rather than a bug, if it does: the pool
/// is exhausted or closed, the connection failed (refused, reset, TLS), the server is shutting
/// down or starting, resources ran out (disk or database full, out of memory, too many
/// connections), the database is read-only or locked past the busy timeout, or a transaction
/// lost a serialisation race. The statement that failed wrote nothing.
pub(crate) fn unavailable_reason(e: &DbErr) -> Option<String> {
    match e {
        DbErr::ConnectionAcquire(_) => Some(e.to_string()),
        DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => match runtime {
            sea_orm::RuntimeErr::SqlxError(sqlx) => sqlx_unavailable_reason(sqlx),
            _ => None,
        },
        _ => None,
    }
}

fn sqlx_unavailable_reason(e: &sqlx::Error) -> Option<String> {
    use sqlx::Error as S;
    match e {
        S::Io(_) | S::Tls(_) | S::PoolTimedOut | S::PoolClosed | S::WorkerCrashed => {
            Some(e.to_string())
        }
        S::Database(db) => {
            let code = db.code()?;
            // The engine decides how to read the code: PostgreSQL's SQLSTATEs are often all
            // digits (53100, 08006), so a number alone does not make a SQLite result code.
            let engine = if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                Engine::Sqlite
            } else {
                Engine::Postgres
            };
            code_means_unavailable(engine, &code).then(|| format!("{} (code {code})", db.message()))
        }
        _ => None,
    }
}

/// Whether a database error `code` of `engine` means "cannot serve now" rather than a bug.
fn code_means_unavailable(engine: Engine, code: &str) -> bool {
    match engine {
        // SQLite result codes: the primary code is the low byte of the extended one.
        Engine::Sqlite => code.parse::<i32>().is_ok_and(|extended| {
            matches!(
                extended & 0xff,
                SQLITE_BUSY
                    | SQLITE_LOCKED
                    | SQLITE_NOMEM
                    | SQLITE_READONLY
                    | SQLITE_IOERR
                    | SQLITE_FULL
                    | SQLITE_CANTOPEN
            )
        }),
        // PostgreSQL SQLSTATEs: connection exception (08), insufficient resources (53: disk
        // full, out of memory, too many connections), operator intervention (57P01-57P05:
        // shutting down, starting, terminated), system error (58), a read-only transaction
        // (25006: a standby), serialisation failure, deadlock, and what an operator must fix:
        // credentials refused (28), no such database (3D000).
        Engine::Postgres => {
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code.starts_with("58")
                || code.starts_with("28")
                || matches!(code, "25006" | "40001" | "40P01" | "3D000")
        }
    }
}

const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_NOMEM: i32 = 7;
const SQLITE_READONLY: i32 = 8;
const SQLITE_IOERR: i32 = 10;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;

/// The PostgreSQL advisory-lock key held while migrations run ("pi-migr" in ASCII).
const MIGRATION_LOCK: i64 = 0x0070_692d_6d69_6772;

/// Connections per replica to PostgreSQL by default (opened in the background from start-up,
/// see [`connect`]).
pub const POSTGRES_POOL: u32 = 20;

/// Each SQLite connection's page cache, in KiB when negative (SQLite's default is 2,000 KiB). Pages
/// come from the operating system's file cache in a read call when they are not here, and every
/// write through another connection empties this cache anyway.
const SQLITE_CACHE_SIZE: &str = "-1024";

/// SQLite connections per replica: two per core the process may use (a container's CPU quota
/// counts), 2 to 8. Each is a thread with its own page cache and parsed schema; SQLite work is
/// CPU-bound on a local file, so more connections than that add memory, not throughput.
pub fn sqlite_pool() -> u32 {
    sqlite_pool_for(std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}

fn sqlite_pool_for(cores: usize) -> u32 {
    u32::try_from(cores.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .clamp(2, 8)
}

/// Whether a pooled connection may be handed out: not when it is still inside a transaction.
/// A transaction is rolled back when it is dropped, but on SQLite a disk-full or I/O error may
/// already have rolled it back, the driver's `ROLLBACK` then fails and it counts the
/// transaction as still open; the next `BEGIN` on that connection becomes a savepoint, whose
/// rollback keeps the write lock for ever ("database is locked" for every other connection
/// until a restart). Such a connection is closed instead (which ends whatever SQLite still
/// holds) and the pool opens a fresh one.
async fn discard_if_in_transaction<C: sqlx::Connection>(conn: &mut C) -> Result<bool, sqlx::Error> {
    if conn.is_in_transaction() {
        tracing::warn!("discarding a pooled connection left inside a transaction");
        metrics::counter!("pi_db_connections_discarded_total").increment(1);
        return Ok(false);
    }
    Ok(true)
}

/// Statements slower than this are logged as warnings.
const SLOW_STATEMENT: Duration = Duration::from_millis(250);

/// Opens a pool on `url` (`sqlite://…` or `postgres://…`).
///
/// SQLite is opened in WAL mode with a busy timeout, foreign keys on and `synchronous=NORMAL`,
/// which is what makes it a real option for a multi-user server rather than a toy.
///
/// # Errors
/// [`StoreError::UnsupportedUrl`] or [`StoreError::Connect`].
pub async fn connect(url: &str) -> Result<Database, StoreError> {
    connect_with(url, None).await
}

/// [`connect`] with `pool` connections to PostgreSQL instead of the default
/// ([`POSTGRES_POOL`]); SQLite ignores it.
///
/// # Errors
/// As [`connect`].
pub async fn connect_with(url: &str, pool: Option<u32>) -> Result<Database, StoreError> {
    let engine = if url.starts_with("sqlite:") {
        Engine::Sqlite
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Engine::Postgres
    } else {
        return Err(StoreError::UnsupportedUrl);
    };
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10));
    match engine {
        Engine::Sqlite => {
            options
                .max_connections(sqlite_pool())
                .min_connections(1)
                // A ping before every acquire is one more hop to the connection's worker
                // thread and proves nothing about a local file.
                .test_before_acquire(false)
                .map_sqlx_sqlite_before_acquire(|conn, _| Box::pin(discard_if_in_transaction(conn)))
                .map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(15))
                        .foreign_keys(true)
                        .pragma("cache_size", SQLITE_CACHE_SIZE)
                });
        }
        Engine::Postgres => {
            // Every connection is opened by the pool's own task on the runtime that built it
            // (the process's main runtime) and kept: a connection opened inside one of
            // actix's per-worker runtimes dies with that runtime when the worker stops during
            // a graceful shutdown, failing requests still running on other workers ("a Tokio
            // context is being shut down"; seen in `cargo xtask cluster`'s rolling restart).
            //
            // The pool opens lazily with one connection; the rest are opened by
            // [`Database::fill_pool`], which start-up calls (on this runtime) once it listens:
            // opening 20 with TLS took ~0.95 s before the listener, and opening them while
            // start-up runs slowed it from ~125 to ~215 ms.
            let pool = pool.unwrap_or(POSTGRES_POOL).max(1);
            options
                .max_connections(pool)
                .min_connections(1)
                .connect_lazy(true)
                .idle_timeout(None::<Duration>)
                .max_lifetime(None::<Duration>)
                .map_sqlx_postgres_before_acquire(|conn, _| {
                    Box::pin(discard_if_in_transaction(conn))
                });
        }
    }
    let mut conn = sea_orm::Database::connect(options)
        .await
        .map_err(|source| StoreError::Connect {
            engine: engine.as_str(),
            source,
        })?;
    if engine == Engine::Postgres {
        first_postgres_connection(&conn, url)
            .await
            .map_err(|source| StoreError::Connect {
                engine: engine.as_str(),
                source,
            })?;
    }
    let statements = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&statements);
    conn.set_metric_callback(move |info| {
        counter.fetch_add(1, Ordering::Relaxed);
        if info.elapsed > SLOW_STATEMENT {
            // The SQL text has placeholders only, never the bound values.
            tracing::warn!(
                elapsed_ms = info.elapsed.as_millis() as u64,
                sql = %info.statement.sql,
                failed = info.failed,
                "slow SQL statement"
            );
        }
    });
    Ok(Database {
        conn,
        engine,
        statements,
        sqlite_url: (engine == Engine::Sqlite).then(|| Arc::from(url)),
    })
}

/// How long start-up waits for the first PostgreSQL connection from the pool.
const FIRST_CONNECTION: Duration = Duration::from_secs(2);

/// Proves PostgreSQL reachable before start-up goes on: connections from the (lazy) pool within
/// [`FIRST_CONNECTION`]. The pool retries a refused connection until its acquire
/// timeout and keeps the cause to itself, so when that fails one direct connection attempt
/// names what is wrong (refused, unknown host, bad password, no such database) at once.
///
/// Two are opened at once (one when the pool holds one): sqlx returns a connection to the pool
/// after a ping, so a statement right after another finds no idle connection and opens a new
/// one (~80 ms with TLS here) unless a second is already open.
async fn first_postgres_connection(conn: &DatabaseConnection, url: &str) -> Result<(), DbErr> {
    let pool = conn.get_postgres_connection_pool();
    let acquire = || tokio::time::timeout(FIRST_CONNECTION, pool.acquire());
    let opened = if pool.options().get_max_connections() >= 2 {
        let (first, second) = tokio::join!(acquire(), acquire());
        matches!((first, second), (Ok(Ok(_)), Ok(Ok(_))))
    } else {
        matches!(acquire().await, Ok(Ok(_)))
    };
    if opened {
        return Ok(());
    }
    let sqlx_err = |e: sqlx::Error| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(Arc::new(e)));
    let options = url
        .parse::<sqlx::postgres::PgConnectOptions>()
        .map_err(sqlx_err)?;
    match tokio::time::timeout(
        Duration::from_secs(5),
        <sqlx::postgres::PgConnection as sqlx::Connection>::connect_with(&options),
    )
    .await
    {
        Ok(Err(e)) => Err(sqlx_err(e)),
        Err(_) => Err(DbErr::Conn(sea_orm::RuntimeErr::Internal(
            "no answer within 5 s (is the host reachable?)".to_owned(),
        ))),
        Ok(Ok(direct)) => {
            let _ = sqlx::Connection::close(direct).await;
            Err(DbErr::Conn(sea_orm::RuntimeErr::Internal(format!(
                "the pool got no connection within {} s",
                FIRST_CONNECTION.as_secs()
            ))))
        }
    }
}

impl Database {
    /// Applies pending migrations. On PostgreSQL, when any are pending, under a cluster-wide
    /// advisory lock: replicas
    /// (and `pi-server migrate` jobs) starting together apply each migration once; the others
    /// wait, then find nothing pending. The lock is a transaction's, so it is released however
    /// this ends, a crash included.
    ///
    /// # Errors
    /// [`StoreError::Migrate`].
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if self.engine == Engine::Sqlite {
            return self.migrate_sqlite().await;
        }
        // A restart on a migrated database (the common case) needs no lock, and no second
        // connection at start-up: each new PostgreSQL connection with TLS costs ~80 ms here.
        // Read-only: creating the bookkeeping table here would race other replicas (two
        // `CREATE TABLE IF NOT EXISTS` at once collide on PostgreSQL); a fresh database, or
        // any doubt, takes the locked path.
        if let Ok(pending) = Migrator::get_pending_migrations_read_only(&self.conn).await
            && pending.is_empty()
        {
            return Ok(());
        }
        let lock = self.conn.begin().await.map_err(StoreError::Migrate)?;
        lock.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await
            .map_err(StoreError::Migrate)?;
        let applied = Migrator::up(&self.conn, None).await;
        // Ending the transaction releases the lock; its own outcome matters only when the
        // migrations succeeded.
        let released = lock.rollback().await;
        applied.map_err(StoreError::Migrate)?;
        released.map_err(StoreError::Migrate)
    }

    /// PostgreSQL: opens the pool's remaining connections in the background, on the calling
    /// runtime (the process's main one, so none belongs to an HTTP worker's runtime that stops
    /// first on shutdown). Requests meanwhile open their own when none is idle. SQLite: nothing.
    pub fn fill_pool(&self) {
        if self.engine != Engine::Postgres {
            return;
        }
        let pool = self.conn.get_postgres_connection_pool().clone();
        let want = pool.options().get_max_connections();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            // Holding each connection makes the next acquire open a new one.
            let mut held = Vec::new();
            while pool.size() < want && !pool.is_closed() {
                match pool.acquire().await {
                    Ok(conn) => held.push(conn),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not fill the database pool");
                        break;
                    }
                }
            }
            drop(held);
            tracing::debug!(
                connections = pool.size(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "database pool filled"
            );
        });
    }

    /// SQLite: migrations on a connection of their own, closed afterwards, never one of the
    /// pool's. A pooled connection used while the schema changed could keep a pre-migration view
    /// of it and fail its next statement with "no such table" (seen intermittently once a tenth
    /// migration made the run longer); the pool's connections only ever see the migrated schema.
    async fn migrate_sqlite(&self) -> Result<(), StoreError> {
        let url = self.sqlite_url.as_deref().unwrap_or_default();
        if url.contains(":memory:") || url.contains("mode=memory") {
            // Another connection would see another database.
            return Migrator::up(&self.conn, None)
                .await
                .map_err(StoreError::Migrate);
        }
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .max_connections(1)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(5))
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(15))
                    .foreign_keys(true)
            });
        let own = sea_orm::Database::connect(options)
            .await
            .map_err(StoreError::Migrate)?;
        let applied = Migrator::up(&own, None).await;
        let closed = own.close().await;
        applied.map_err(StoreError::Migrate)?;
        closed.map_err(StoreError::Migrate)
    }

    /// Sets the `pi_db_pool_connections` gauges (in use, idle, max) from the pool's state.
    pub fn record_pool_metrics(&self) {
        let (size, idle, max) = match self.engine {
            Engine::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            Engine::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        let gauge = |state: &'static str, n: u32| {
            metrics::gauge!("pi_db_pool_connections", "state" => state).set(f64::from(n));
        };
        gauge("in_use", size.saturating_sub(idle));
        gauge("idle", idle);
        gauge("max", max);
    }

    /// Statements executed through this pool since it opened (transaction BEGIN/COMMIT are
    /// not counted). Used by tests and benchmarks to keep hot paths lean.
    pub fn statements_executed(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// One primary-key select (a user's email) and nothing else: the floor under every read
    /// route, served by `pi-ceiling` for `cargo xtask bench api`.
    ///
    /// # Errors
    /// The driver's error.
    pub async fn select_user_email(&self, id: uuid::Uuid) -> Result<Option<String>, DbErr> {
        let row = self
            .conn
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                self.conn.get_database_backend(),
                "SELECT email FROM users WHERE id = $1",
                vec![id.into()],
            ))
            .await?;
        row.map(|r| r.try_get::<String>("", "email")).transpose()
    }

    /// The engine in use.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The underlying pool, for adapters in this crate and for tests.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Closes the pool (used on shutdown).
    ///
    /// # Errors
    /// The driver's error.
    pub async fn close(self) -> Result<(), DbErr> {
        self.conn.close().await
    }
}

/// `/health/ready` check: `SELECT 1`, then a committed write (so a read-only database, a full
/// disk or a standby is reported, and reported ready again as soon as writes work). SQLite
/// also: the database file itself, still
/// at its path, the same file as when the server first saw it (not unlinked or replaced, e.g.
/// with its directory deleted), and writable by this process.
#[derive(Debug, Clone)]
pub struct DatabaseProbe {
    db: Database,
    /// `(device, inode)` of the SQLite file when first probed.
    sqlite_file: Arc<std::sync::OnceLock<(u64, u64)>>,
}

impl DatabaseProbe {
    /// Probes `db`.
    pub fn new(db: Database) -> Self {
        Self {
            db,
            sqlite_file: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// Whether the database takes a write now: one committed upsert of the `health_probe` row
    /// (a read-only database, a full disk, a standby or a lock held past the busy timeout all
    /// refuse it).
    async fn write_problem(&self) -> Option<String> {
        let write = self
            .db
            .conn
            .execute_raw(sea_orm::Statement::from_sql_and_values(
                self.db.conn.get_database_backend(),
                "INSERT INTO health_probe (singleton, probed_at) VALUES (1, $1) \
                 ON CONFLICT (singleton) DO UPDATE SET probed_at = excluded.probed_at",
                vec![chrono::Utc::now().timestamp_millis().into()],
            ))
            .await;
        let e = write.err()?;
        tracing::warn!(error = %e, "the database refuses writes");
        let engine = self.db.engine.as_str();
        let text = e.to_string();
        Some(if text.contains("readonly") || text.contains("read-only") {
            format!("{engine} database is read-only")
        } else {
            match unavailable_reason(&e) {
                Some(reason) => format!("{engine} database refuses writes: {reason}"),
                None => format!("{engine} database refuses writes"),
            }
        })
    }

    /// Problems with the SQLite file behind the pool, if any.
    async fn sqlite_problem(&self) -> Option<String> {
        use sea_orm::Statement;
        use std::os::unix::fs::MetadataExt as _;
        let row = self
            .db
            .conn
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT file FROM pragma_database_list WHERE name = 'main'",
            ))
            .await;
        let file: String = match row {
            Ok(Some(row)) => row.try_get("", "file").unwrap_or_default(),
            Ok(None) => String::new(),
            Err(e) => return Some(format!("sqlite database unreadable: {e}")),
        };
        if file.is_empty() {
            return None; // In memory: nothing on disk to lose.
        }
        let metadata = match std::fs::metadata(&file) {
            Ok(m) => m,
            Err(_) => {
                return Some(format!(
                    "sqlite database file {file} is gone (writes would be lost)"
                ));
            }
        };
        let identity = (metadata.dev(), metadata.ino());
        if *self.sqlite_file.get_or_init(|| identity) != identity {
            return Some(format!(
                "sqlite database file {file} was replaced by another file"
            ));
        }
        if let Err(e) = std::fs::OpenOptions::new().write(true).open(&file) {
            return Some(format!("sqlite database file {file} is not writable: {e}"));
        }
        None
    }
}

#[async_trait]
impl HealthProbe for DatabaseProbe {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> Result<String, String> {
        let backend: DbBackend = self.db.conn.get_database_backend();
        let probe = tokio_timeout(self.db.conn.execute_unprepared("SELECT 1")).await;
        match probe {
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tracing::warn!(error = %e, ?backend, "database readiness check failed");
                return Err(format!("{} unreachable", self.db.engine.as_str()));
            }
            None => {
                return Err(format!(
                    "{} did not answer in time",
                    self.db.engine.as_str()
                ));
            }
        }
        // The SQLite file first: once it is deleted, a write may fail as "read-only" (the file
        // moved) or land in the unlinked file; either way the file's fate is the news.
        if self.db.engine == Engine::Sqlite {
            match tokio_timeout(self.sqlite_problem()).await {
                Some(None) => {}
                Some(Some(problem)) => return Err(problem),
                None => return Err("sqlite did not answer in time".to_owned()),
            }
        }
        match tokio_timeout(self.write_problem()).await {
            Some(None) => {}
            Some(Some(problem)) => return Err(problem),
            None => {
                return Err(format!(
                    "{} did not take a write in time",
                    self.db.engine.as_str()
                ));
            }
        }
        Ok(format!("ok ({})", self.db.engine.as_str()))
    }
}

/// Bounds a readiness probe to 3 seconds without depending on a specific runtime in signatures.
async fn tokio_timeout<F: std::future::Future>(fut: F) -> Option<F::Output> {
    tokio::time::timeout(Duration::from_secs(3), fut).await.ok()
}

#[cfg(test)]
mod tests {
    use super::{Engine, code_means_unavailable, sqlite_pool_for};

    #[test]
    fn error_codes_are_read_by_their_engine() {
        let pg = |c| code_means_unavailable(Engine::Postgres, c);
        let lite = |c| code_means_unavailable(Engine::Sqlite, c);
        // PostgreSQL outages, all-digit codes included.
        for code in [
            "53100", "53200", "53300", "08001", "08006", "58030", "25006", "40001", "40P01",
            "28000", "28P01", "3D000", "57P01", "57P03",
        ] {
            assert!(pg(code), "{code}");
        }
        // PostgreSQL bugs: constraint, syntax, data errors (some would read as SQLite busy or
        // read-only by their low byte).
        for code in [
            "23505", "23503", "42601", "42P01", "22021", "21000", "22P02",
        ] {
            assert!(!pg(code), "{code}");
        }
        // SQLite: full (13), I/O error (10 and its extended 266), busy (5), read-only (8),
        // locked (6); not a constraint (19, 2067) or a syntax error (1).
        for code in ["13", "10", "266", "5", "517", "8", "6", "14"] {
            assert!(lite(code), "{code}");
        }
        for code in ["19", "2067", "1", "787"] {
            assert!(!lite(code), "{code}");
        }
    }

    #[test]
    fn sqlite_opens_two_connections_per_core_from_2_to_8() {
        let sizes: Vec<u32> = [0, 1, 2, 3, 4, 64, usize::MAX]
            .into_iter()
            .map(sqlite_pool_for)
            .collect();
        assert_eq!(sizes, [2, 2, 4, 6, 8, 8, 8]);
    }
}
