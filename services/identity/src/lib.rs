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

use clickclack_common::caller_policy::{CallerKeys, DevKeyRefused, KeyArgs};
use clickclack_common::db;
use clickclack_common::metrics::Sampler;
use clickclack_common::outbox::{Producer, ProducerSpec};
use clickclack_common::service::{ProcessConfig, Service, ServiceError};
use clickclack_proto::identity::identity_service_server::IdentityServiceServer;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The Postgres schema identity owns.
pub const SCHEMA: &str = "identity";
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// Its tables, and who its relay delivers events to realtime as.
const PRODUCER: ProducerSpec = ProducerSpec {
    service: "identity",
    caller: "svc:identity",
    schema: SCHEMA,
    migrations: MIGRATIONS,
};
/// The name health checks use for this service.
pub const SERVICE_NAME: &str = clickclack_proto::IDENTITY_SERVICE_NAME;
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

#[derive(Debug, Clone, clap::Args)]
pub struct IdentityConfig {
    /// Postgres URL; identity keeps its tables in the `identity` schema.
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// gRPC listen address.
    #[arg(long = "listen", env = "CLICKCLACK_IDENTITY_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Largest number of pooled database connections.
    #[arg(long, env = "CLICKCLACK_IDENTITY_DB_POOL", default_value_t = 16)]
    pub db_pool_size: u32,
    #[command(flatten)]
    pub db_idle_timeout: clickclack_common::db::IdleTimeout,
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

impl ProcessConfig for IdentityConfig {
    fn listen(&self) -> SocketAddr {
        self.listen
    }

    fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    fn refuse_dev_keys(&self) -> Result<(), DevKeyRefused> {
        self.keys.require_production()
    }
}

/// A migrated database, ready to serve.
pub struct Identity {
    keys: CallerKeys,
    db: Producer,
    database_url: String,
}

impl Service for Identity {
    type Config = IdentityConfig;

    fn samplers(&self) -> Vec<Sampler> {
        self.db.samplers()
    }

    fn open(config: &IdentityConfig) -> Result<Identity, ServiceError> {
        let keys = config.keys.caller_keys()?;
        let db = Producer::open(
            PRODUCER,
            &config.database_url,
            clickclack_common::db::PoolSize::new(config.db_pool_size, config.db_idle_timeout),
            &config.realtime_addr,
            keys.internal.clone(),
        )?;
        Ok(Identity {
            keys,
            db,
            database_url: config.database_url.clone(),
        })
    }

    /// Serves the identity API, health and reflection, delivers its outbox
    /// and watches credential changes, until `shutdown` is cancelled.
    async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), ServiceError> {
        let Producer { pool, relay, .. } = self.db;
        relay.spawn(shutdown.clone());
        let changes = changes::AuthChanges::new();
        changes.spawn_listener(self.database_url, shutdown.clone());
        let api = api::IdentityApi::new(pool.clone(), relay, changes);
        clickclack_common::service::serve_grpc(
            IdentityServiceServer::new(api),
            self.keys,
            policy::callers,
            pool,
            listener,
            shutdown,
        )
        .await
    }
}
