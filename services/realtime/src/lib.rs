//! ClickClack realtime service: the durable event log (one global cursor,
//! idempotent appends), pull reads, and live subscriptions that backfill
//! from a cursor and then follow the log across replicas.
//!
//! Reading order: `api` (gRPC handlers and the subscriber loop) → `domain`
//! (append, visibility, cursor rules) → `hub` (live fan-out) → `store`.

pub mod api;
pub mod domain;
pub mod error;
pub mod hub;
pub mod policy;
pub mod store;

use clickclack_common::assertion::{AssertionKey, DEV_INTERNAL_KEY};
use clickclack_common::caller_policy::{CallerKeys, DevKeyRefused, refuse_dev_key};
use clickclack_common::db::{self, PgPool};
use clickclack_common::service::{ProcessConfig, Service, ServiceError};
use clickclack_proto::realtime::realtime_service_server::RealtimeServiceServer;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const SCHEMA: &str = "realtime";
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
pub const SERVICE_NAME: &str = clickclack_proto::REALTIME_SERVICE_NAME;
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50053";

#[derive(Debug, Clone, clap::Args)]
pub struct RealtimeConfig {
    /// Postgres URL; realtime keeps its tables in the `realtime` schema.
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// gRPC listen address.
    #[arg(long = "listen", env = "CLICKCLACK_REALTIME_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Shared secret that signs principal assertions (at least 32 bytes).
    #[arg(long, env = "CLICKCLACK_INTERNAL_KEY", default_value = DEV_INTERNAL_KEY, hide_default_value = true)]
    pub internal_key: String,
    /// Largest number of pooled database connections.
    #[arg(long, env = "CLICKCLACK_REALTIME_DB_POOL", default_value_t = 16)]
    pub db_pool_size: u32,
    #[command(flatten)]
    pub db_idle_timeout: clickclack_common::db::IdleTimeout,
    /// Prometheus metrics address (`GET /metrics`); not served when unset.
    #[arg(long, env = "CLICKCLACK_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

impl ProcessConfig for RealtimeConfig {
    fn listen(&self) -> SocketAddr {
        self.listen
    }

    fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Realtime serves no admin RPCs, so it holds no operator key.
    fn refuse_dev_keys(&self) -> Result<(), DevKeyRefused> {
        refuse_dev_key(
            "CLICKCLACK_INTERNAL_KEY",
            &self.internal_key,
            DEV_INTERNAL_KEY,
        )
    }
}

/// A migrated database, ready to serve.
pub struct Realtime {
    pool: PgPool,
    key: AssertionKey,
    database_url: String,
}

impl Service for Realtime {
    type Config = RealtimeConfig;

    fn samplers(&self) -> Vec<clickclack_common::metrics::Sampler> {
        vec![clickclack_common::metrics::pool_sampler(
            "realtime",
            self.pool.clone(),
        )]
    }

    fn open(config: &RealtimeConfig) -> Result<Realtime, ServiceError> {
        let key = AssertionKey::from_secret(&config.internal_key)?;
        let pool = db::connect(
            &config.database_url,
            SCHEMA,
            MIGRATIONS,
            clickclack_common::db::PoolSize::new(config.db_pool_size, config.db_idle_timeout),
        )?;
        Ok(Realtime {
            pool,
            key,
            database_url: config.database_url.clone(),
        })
    }

    /// Serves the log, pulls and live subscriptions until `shutdown`.
    async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), ServiceError> {
        let pool = self.pool.clone();
        let url = self.database_url.clone();
        let hub_shutdown = shutdown.clone();
        let hub =
            tokio::task::spawn_blocking(move || hub::Hub::start(pool, url, hub_shutdown)).await??;
        let api = api::RealtimeApi::new(self.pool.clone(), hub, shutdown.clone());
        let keys = CallerKeys {
            internal: self.key,
            operator: None,
        };
        clickclack_common::service::serve_grpc(
            RealtimeServiceServer::new(api),
            keys,
            policy::callers,
            self.pool,
            listener,
            shutdown,
        )
        .await
    }
}
