//! The Postgres pool every service uses (diesel + r2d2).
//!
//! Each service owns one Postgres schema. Its pool pins `search_path` to that
//! schema, so unqualified table names (and diesel's migration bookkeeping)
//! stay inside it and a service cannot wander into another's tables.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;

/// The database every binary uses unless told otherwise (`DATABASE_URL`):
/// the local Postgres of a development machine.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/clickclack";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("invalid database url: {0}")]
    Url(String),
    #[error("database task failed: {0}")]
    Task(String),
}

impl DbError {
    /// Postgres refused text the caller sent (a NUL character cannot be
    /// stored in a text column): the caller's mistake, not a server fault.
    /// The gateway rejects such input first; this keeps a service from
    /// answering "internal error" if some path forgets to.
    pub fn is_invalid_text(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("invalid byte sequence")
        )
    }
}

/// The message a service answers for [`DbError::is_invalid_text`].
pub const INVALID_TEXT: &str = "text must not contain NUL characters";

/// Sets the service's schema on every pooled connection.
#[derive(Debug)]
struct SearchPath(&'static str);

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SearchPath {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!("SET search_path TO {}", self.0))
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Returns `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> Result<String, DbError> {
    let mut parsed = url::Url::parse(url).map_err(|e| DbError::Url(e.to_string()))?;
    parsed.set_path(&format!("/{database}"));
    Ok(parsed.to_string())
}

/// Name of the database in `url`, if it names one.
pub fn database_name(url: &str) -> Result<String, DbError> {
    let parsed = url::Url::parse(url).map_err(|e| DbError::Url(e.to_string()))?;
    let name = parsed.path().trim_start_matches('/');
    if name.is_empty() {
        return Err(DbError::Url(format!("{url} names no database")));
    }
    Ok(name.to_owned())
}

/// True for names we are willing to splice into `CREATE DATABASE`.
fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Creates the database `url` names when it does not exist yet, by way of the
/// server's `postgres` maintenance database.
pub fn ensure_database_exists(url: &str) -> Result<(), DbError> {
    let name = database_name(url)?;
    if !is_plain_identifier(&name) {
        return Err(DbError::Url(format!(
            "database name {name:?} must be lowercase letters, digits and underscores"
        )));
    }
    let mut admin = PgConnection::establish(&with_database(url, "postgres")?)?;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        #[allow(dead_code)]
        one: i32,
    }
    let exists = diesel::sql_query("SELECT 1 AS one FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(&name)
        .load::<Found>(&mut admin)?;
    if exists.is_empty() {
        match admin.batch_execute(&format!("CREATE DATABASE {name}")) {
            Ok(()) => tracing::info!(database = %name, "created database"),
            // Another process created it between our check and our create.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {}
            Err(e) if e.to_string().contains("already exists") => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Connections a pool keeps open while idle.
pub const POOL_MIN_IDLE: u32 = 1;
/// How long a connection beyond [`POOL_MIN_IDLE`] may sit unused before
/// it is closed, unless the operator says otherwise
/// (`CLICKCLACK_DB_IDLE_TIMEOUT_SECONDS`).
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a pooled connection beyond [`POOL_MIN_IDLE`] may sit unused
/// before it is closed; every service reads the same setting. r2d2 looks
/// for such connections every 30 seconds, so one may live up to that much
/// longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct IdleTimeout {
    /// Seconds an extra pooled database connection may sit unused before it
    /// is closed.
    #[arg(
        long = "db-idle-timeout-seconds",
        env = "CLICKCLACK_DB_IDLE_TIMEOUT_SECONDS",
        default_value_t = POOL_IDLE_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub seconds: u64,
}

impl Default for IdleTimeout {
    fn default() -> IdleTimeout {
        IdleTimeout::after(POOL_IDLE_TIMEOUT)
    }
}

impl IdleTimeout {
    pub fn after(timeout: Duration) -> IdleTimeout {
        IdleTimeout {
            seconds: timeout.as_secs().max(1),
        }
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs(self.seconds)
    }
}

/// The shape of a service's pool: the most connections it opens, and how
/// long one beyond [`POOL_MIN_IDLE`] is kept unused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSize {
    pub max: u32,
    pub idle_timeout: IdleTimeout,
}

impl PoolSize {
    pub fn new(max: u32, idle_timeout: IdleTimeout) -> PoolSize {
        PoolSize { max, idle_timeout }
    }
}

/// A pool of at most this many connections, with the default idle timeout.
impl From<u32> for PoolSize {
    fn from(max: u32) -> PoolSize {
        PoolSize::new(max, IdleTimeout::default())
    }
}

/// Opens a pool on `url` whose connections live in `schema`, creating the
/// schema and running the service's embedded migrations first.
pub fn connect(
    url: &str,
    schema: &'static str,
    migrations: EmbeddedMigrations,
    size: impl Into<PoolSize>,
) -> Result<PgPool, DbError> {
    if !is_plain_identifier(schema) {
        return Err(DbError::Url(format!("bad schema name {schema:?}")));
    }
    let mut setup = PgConnection::establish(url)?;
    setup.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}"
    ))?;
    // Services starting side by side must not race on the migration table.
    setup.batch_execute(&format!(
        "SELECT pg_advisory_lock(hashtext('clickclack-migrations-{schema}'))"
    ))?;
    let migrated = setup
        .run_pending_migrations(migrations)
        .map(|applied| applied.len())
        .map_err(|e| DbError::Migration(e.to_string()));
    setup.batch_execute(&format!(
        "SELECT pg_advisory_unlock(hashtext('clickclack-migrations-{schema}'))"
    ))?;
    let applied = migrated?;
    if applied > 0 {
        tracing::info!(schema, applied, "ran database migrations");
    }

    open_pool(url, schema, size)
}

/// A pool on `url` whose connections live in `schema` (already migrated).
pub fn open_pool(
    url: &str,
    schema: &'static str,
    size: impl Into<PoolSize>,
) -> Result<PgPool, DbError> {
    let size = size.into();
    Pool::builder()
        .max_size(size.max)
        // A pool grows under load up to `max_size` and shrinks back when
        // idle, so an idle deployment holds few connections (r2d2 would
        // otherwise open and keep all of them).
        .min_idle(Some(POOL_MIN_IDLE.min(size.max)))
        .idle_timeout(Some(size.idle_timeout.duration()))
        .connection_timeout(Duration::from_secs(5))
        .connection_customizer(Box::new(SearchPath(schema)))
        .build(ConnectionManager::new(url))
        .map_err(DbError::Pool)
}

/// Runs blocking diesel work on the blocking thread pool with a pooled
/// connection, so async handlers never stall the runtime.
pub async fn run<T, E, F>(pool: &PgPool, work: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(DbError::Pool)?;
        work(&mut conn)
    })
    .await
    .map_err(|e| E::from(DbError::Task(e.to_string())))?
}

/// Cheap liveness probe used by health checks.
pub fn ping(pool: &PgPool) -> Result<(), DbError> {
    let mut conn = pool.get()?;
    diesel::sql_query("SELECT 1").execute(&mut conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/clickclack", "postgres").unwrap(),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(
            database_name("postgres://u:p@db:5432/chat?sslmode=disable").unwrap(),
            "chat"
        );
        assert!(database_name("postgres://db:5432").is_err());
    }

    #[test]
    fn only_plain_identifiers_reach_create_database() {
        assert!(is_plain_identifier("clickclack_test_01"));
        assert!(!is_plain_identifier("x; DROP DATABASE y"));
        assert!(!is_plain_identifier("Upper"));
        assert!(!is_plain_identifier(""));
    }
}
