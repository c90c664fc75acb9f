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
use clickclack_common::caller_policy::{CallerKeys, CallerPolicy};
use clickclack_common::db::{self, PgPool};
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
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/clickclack"
    )]
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
    /// Prometheus metrics address (`GET /metrics`); not served when unset.
    #[arg(long, env = "CLICKCLACK_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// A migrated database, ready to serve.
pub struct Realtime {
    pool: PgPool,
    key: AssertionKey,
    database_url: String,
}

impl Realtime {
    /// What the metrics endpoint samples at each scrape.
    pub fn samplers(&self) -> Vec<clickclack_common::metrics::Sampler> {
        vec![clickclack_common::metrics::pool_sampler(
            "realtime",
            self.pool.clone(),
        )]
    }

    /// Connects, runs pending migrations and checks the key. Blocking.
    pub fn open(config: &RealtimeConfig) -> anyhow::Result<Realtime> {
        let key = AssertionKey::from_secret(&config.internal_key)?;
        let pool = db::connect(
            &config.database_url,
            SCHEMA,
            MIGRATIONS,
            config.db_pool_size,
        )?;
        Ok(Realtime {
            pool,
            key,
            database_url: config.database_url.clone(),
        })
    }

    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        clickclack_common::grpc::watch_database_health(
            self.pool.clone(),
            health_reporter,
            SERVICE_NAME,
            shutdown.clone(),
        );
        let pool = self.pool.clone();
        let url = self.database_url.clone();
        let hub_shutdown = shutdown.clone();
        let hub =
            tokio::task::spawn_blocking(move || hub::Hub::start(pool, url, hub_shutdown)).await??;
        let api =
            RealtimeServiceServer::new(api::RealtimeApi::new(self.pool, hub, shutdown.clone()));
        tracing::info!(addr = ?listener.local_addr().ok(), "realtime listening");
        clickclack_common::grpc::server()
            .add_service(health_service)
            .add_service(clickclack_common::grpc::reflection_service())
            .add_service(CallerPolicy::new(
                api,
                CallerKeys {
                    internal: self.key,
                    operator: None,
                },
                policy::callers,
            ))
            .serve_with_incoming_shutdown(
                clickclack_common::grpc::incoming(listener),
                shutdown.cancelled_owned(),
            )
            .await?;
        Ok(())
    }
}

/// Runs the service as its own process.
pub async fn run(config: RealtimeConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    clickclack_common::caller_policy::refuse_dev_key(
        "CLICKCLACK_INTERNAL_KEY",
        &config.internal_key,
        DEV_INTERNAL_KEY,
    )?;
    let opened = config.clone();
    let realtime = tokio::task::spawn_blocking(move || Realtime::open(&opened)).await??;
    let listener = TcpListener::bind(config.listen).await?;
    clickclack_common::metrics::spawn_server(
        config.metrics_addr,
        realtime.samplers(),
        shutdown.clone(),
    );
    realtime.serve(listener, shutdown).await
}
