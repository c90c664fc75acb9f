//! ClickClack identity service: users, workspaces, members, bots and bot
//! tokens, and the `Authenticate` call every gateway request starts with.
//!
//! Reading order: `api` (gRPC handlers) → `domain` (rules, transactions) →
//! `store` (diesel queries). This file only wires them to a listener.

pub mod api;
pub mod changes;
pub mod domain;
pub mod error;
pub mod policy;
pub mod store;

use clickclack_common::caller_policy::{CallerKeys, CallerPolicy, KeyArgs};
use clickclack_common::db::{self, PgPool};
use clickclack_common::outbox::Relay;
use clickclack_proto::identity::identity_service_server::IdentityServiceServer;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The Postgres schema identity owns.
pub const SCHEMA: &str = "identity";
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// The name health checks use for this service.
pub const SERVICE_NAME: &str = clickclack_proto::IDENTITY_SERVICE_NAME;
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

#[derive(Debug, Clone, clap::Args)]
pub struct IdentityConfig {
    /// Postgres URL; identity keeps its tables in the `identity` schema.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/clickclack"
    )]
    pub database_url: String,
    /// gRPC listen address.
    #[arg(long = "listen", env = "CLICKCLACK_IDENTITY_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Largest number of pooled database connections.
    #[arg(long, env = "CLICKCLACK_IDENTITY_DB_POOL", default_value_t = 16)]
    pub db_pool_size: u32,
    /// Realtime service gRPC address; membership events are delivered there.
    #[arg(
        long,
        env = "CLICKCLACK_REALTIME_ADDR",
        default_value = "http://127.0.0.1:50053"
    )]
    pub realtime_addr: String,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Prometheus metrics address (`GET /metrics`); not served when unset.
    #[arg(long, env = "CLICKCLACK_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// A migrated database, ready to serve.
pub struct Identity {
    keys: CallerKeys,
    pool: PgPool,
    relay: Arc<Relay>,
    database_url: String,
}

impl Identity {
    /// What the metrics endpoint samples at each scrape.
    pub fn samplers(&self) -> Vec<clickclack_common::metrics::Sampler> {
        vec![
            clickclack_common::metrics::pool_sampler("identity", self.pool.clone()),
            clickclack_common::outbox::backlog_sampler("identity", self.pool.clone()),
        ]
    }

    /// Connects and runs pending migrations. Blocking: call before serving.
    pub fn open(config: &IdentityConfig) -> anyhow::Result<Identity> {
        let keys = config.keys.caller_keys()?;
        let key = keys.internal.clone();
        let pool = db::connect(
            &config.database_url,
            SCHEMA,
            MIGRATIONS,
            config.db_pool_size,
        )?;
        // Its own connection, so deliveries never queue behind requests.
        let relay = Relay::new(
            db::open_pool(&config.database_url, SCHEMA, 1)?,
            &config.realtime_addr,
            key,
            "svc:identity",
        )?;
        Ok(Identity {
            keys,
            pool,
            relay,
            database_url: config.database_url.clone(),
        })
    }

    /// Serves the identity API, health and reflection on `listener` until
    /// `shutdown` is cancelled.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), tonic::transport::Error> {
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        clickclack_common::grpc::watch_database_health(
            self.pool.clone(),
            health_reporter,
            SERVICE_NAME,
            shutdown.clone(),
        );
        self.relay.spawn(shutdown.clone());
        let changes = changes::AuthChanges::new();
        changes.spawn_listener(self.database_url, shutdown.clone());
        let api = api::IdentityApi::new(self.pool, self.relay, changes);
        tracing::info!(addr = ?listener.local_addr().ok(), "identity listening");
        clickclack_common::grpc::server()
            .add_service(health_service)
            .add_service(clickclack_common::grpc::reflection_service())
            .add_service(CallerPolicy::new(
                IdentityServiceServer::new(api),
                self.keys,
                policy::callers,
            ))
            .serve_with_incoming_shutdown(
                clickclack_common::grpc::incoming(listener),
                shutdown.cancelled_owned(),
            )
            .await
    }
}

/// Runs the service as its own process (compose, Kubernetes).
pub async fn run(config: IdentityConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    config.keys.require_production()?;
    let opened = config.clone();
    let identity = tokio::task::spawn_blocking(move || Identity::open(&opened)).await??;
    let listener = TcpListener::bind(config.listen).await?;
    clickclack_common::metrics::spawn_server(
        config.metrics_addr,
        identity.samplers(),
        shutdown.clone(),
    );
    identity.serve(listener, shutdown).await?;
    Ok(())
}
