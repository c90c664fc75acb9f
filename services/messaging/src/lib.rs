//! ClickClack messaging service: channels, messages, threads, DMs,
//! reactions, read state, uploads and search.
//!
//! Reading order: `api` (gRPC handlers) → `domain` (rules, transactions,
//! events) → `store` (diesel queries). Every call must carry a principal
//! assertion signed with the internal key; this file wires that check, the
//! health service and reflection to a listener.

pub mod api;
pub mod domain;
pub mod error;
pub mod policy;
pub mod store;
pub mod wire;

use clickclack_common::caller_policy::{CallerKeys, DevKeyRefused, KeyArgs};
use clickclack_common::db::{self, PgPool};
use clickclack_common::metrics::Sampler;
use clickclack_common::outbox::{Producer, ProducerSpec};
use clickclack_common::service::{ProcessConfig, Service, ServiceError};
use clickclack_proto::messaging::messaging_service_server::MessagingServiceServer;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use domain::uploads::UploadStore;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const SCHEMA: &str = "messaging";
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// Its tables, and who its relay delivers events to realtime as.
const PRODUCER: ProducerSpec = ProducerSpec {
    service: "messaging",
    caller: "svc:messaging",
    schema: SCHEMA,
    migrations: MIGRATIONS,
};
pub const SERVICE_NAME: &str = clickclack_proto::MESSAGING_SERVICE_NAME;
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50052";
/// Uploads up to 25 MiB by default.
pub const DEFAULT_UPLOAD_MAX_BYTES: u64 = 25 * 1024 * 1024;
/// gRPC messages must fit the largest upload plus its envelope.
pub const MAX_GRPC_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, clap::Args)]
pub struct MessagingConfig {
    /// Postgres URL; messaging keeps its tables in the `messaging` schema.
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// gRPC listen address.
    #[arg(long = "listen", env = "CLICKCLACK_MESSAGING_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Directory uploaded files are stored in.
    #[arg(long, env = "CLICKCLACK_UPLOAD_DIR", default_value = ".data/uploads")]
    pub upload_dir: PathBuf,
    /// Largest upload, in bytes.
    #[arg(long, env = "CLICKCLACK_UPLOAD_MAX_BYTES", default_value_t = DEFAULT_UPLOAD_MAX_BYTES)]
    pub upload_max_bytes: u64,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Largest number of pooled database connections.
    #[arg(long, env = "CLICKCLACK_MESSAGING_DB_POOL", default_value_t = 16)]
    pub db_pool_size: u32,
    #[command(flatten)]
    pub db_idle_timeout: clickclack_common::db::IdleTimeout,
    /// Realtime service gRPC address; events are delivered there.
    #[arg(
        long,
        env = "CLICKCLACK_REALTIME_ADDR",
        default_value = "http://127.0.0.1:50053"
    )]
    pub realtime_addr: String,
    /// Prometheus metrics address (`GET /metrics`); not served when unset.
    #[arg(long, env = "CLICKCLACK_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

impl ProcessConfig for MessagingConfig {
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
pub struct Messaging {
    db: Producer,
    uploads: UploadStore,
    keys: CallerKeys,
}

impl Messaging {
    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }
}

impl Service for Messaging {
    type Config = MessagingConfig;

    fn samplers(&self) -> Vec<Sampler> {
        self.db.samplers()
    }

    fn open(config: &MessagingConfig) -> Result<Messaging, ServiceError> {
        let keys = config.keys.caller_keys()?;
        let db = Producer::open(
            PRODUCER,
            &config.database_url,
            clickclack_common::db::PoolSize::new(config.db_pool_size, config.db_idle_timeout),
            &config.realtime_addr,
            keys.internal.clone(),
        )?;
        Ok(Messaging {
            db,
            uploads: UploadStore {
                dir: config.upload_dir.clone(),
                max_bytes: config.upload_max_bytes,
            },
            keys,
        })
    }

    /// Serves the messaging API and delivers its outbox until `shutdown`.
    async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), ServiceError> {
        let Producer { pool, relay, .. } = self.db;
        relay.spawn(shutdown.clone());
        let api =
            MessagingServiceServer::new(api::MessagingApi::new(pool.clone(), self.uploads, relay))
                .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_GRPC_MESSAGE_BYTES);
        clickclack_common::service::serve_grpc(
            api,
            self.keys,
            policy::callers,
            pool,
            listener,
            shutdown,
        )
        .await
    }
}
