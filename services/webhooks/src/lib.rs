//! Webhooks (issue 25, first step): the parts of outgoing event deliveries
//! that hold whatever service ends up running them, each tested on its
//! own against real sockets:
//!
//! - [`domain::signing`]: signing secrets and the signatures a receiver
//!   checks (Standard Webhooks, plus the `X-ClickClack-Signature` that
//!   upstream ClickClack receivers verify).
//! - [`domain::sealing`]: how a signing secret is kept at rest. It must be
//!   able to sign again, so it is encrypted (AES-256-GCM), not hashed.
//! - [`domain::matching`]: which events a subscription asks for (durable
//!   types from the catalogue, or `*`; optionally some channels) and the
//!   body a receiver gets.
//! - [`domain::target`]: which URLs may be registered and which addresses
//!   may be connected to (no private, loopback, link-local or metadata
//!   address unless the operator allows it).
//! - [`domain::schedule`]: what an answer means (delivered, retry later,
//!   gone, failed) and when the next attempt is due.
//! - [`delivery`]: the one HTTP client that sends: it resolves, checks and
//!   connects to the checked address, follows no redirect, gives up after
//!   10 s and reads at most 1 KiB of the answer.
//! - [`store::queue`]: the delivery queue in Postgres: one delivery at a
//!   time per subscription, in log order, claimed with `SKIP LOCKED` and a
//!   lease so replicas share the work; and the delivery log.
//! - [`worker`]: one pass of the worker: claim, sign, send, and write down
//!   the outcome (retry, give up, disable on 410 or after five failing
//!   days).

pub mod api;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod feeder;
pub mod notices;
pub mod policy;
pub mod standing;
pub mod store;
pub mod worker;

use clickclack_common::assertion::{AssertionKey, Claims};
use clickclack_common::caller_policy::{CallerKeys, DevKeyRefused, KeyArgs};
use clickclack_common::db::{self, PgPool};
use clickclack_common::grpc::{Peer, lazy_channel, traced_as};
use clickclack_common::metrics::{METRICS, Sampler};
use clickclack_common::service::{ProcessConfig, Service, ServiceError};
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use clickclack_proto::realtime::realtime_service_client::RealtimeServiceClient;
use clickclack_proto::webhooks::webhooks_service_server::WebhooksServiceServer;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "webhooks";
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
pub const SERVICE_NAME: &str = clickclack_proto::WEBHOOKS_SERVICE_NAME;
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50054";
/// The delivery log (and finished deliveries) is kept this long.
pub const LOG_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(7);

#[derive(Debug, Clone, clap::Args)]
pub struct WebhooksConfig {
    /// Postgres URL; webhooks keeps its tables in the `webhooks` schema.
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// gRPC listen address.
    #[arg(long = "listen", env = "CLICKCLACK_WEBHOOKS_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Identity service gRPC address (bots' standing and owners).
    #[arg(
        long,
        env = "CLICKCLACK_IDENTITY_ADDR",
        default_value = "http://127.0.0.1:50051"
    )]
    pub identity_addr: String,
    /// Realtime service gRPC address (the log it follows).
    #[arg(
        long,
        env = "CLICKCLACK_REALTIME_ADDR",
        default_value = "http://127.0.0.1:50053"
    )]
    pub realtime_addr: String,
    /// Largest number of pooled database connections.
    #[arg(long, env = "CLICKCLACK_WEBHOOKS_DB_POOL", default_value_t = 8)]
    pub db_pool_size: u32,
    #[command(flatten)]
    pub db_idle_timeout: clickclack_common::db::IdleTimeout,
    /// Attempts under way at once in this replica (each subscription has
    /// at most one).
    #[arg(long, env = "CLICKCLACK_WEBHOOKS_CONCURRENCY", default_value_t = 64)]
    pub concurrency: usize,
    /// Deliver to private, loopback and link-local addresses too (receivers
    /// on the deployment's own network). Metadata addresses stay refused.
    #[arg(
        long,
        env = "CLICKCLACK_WEBHOOKS_ALLOW_PRIVATE",
        default_value_t = false
    )]
    pub allow_private_networks: bool,
    /// Hosts that may be reached over plain http and at any address
    /// (comma-separated).
    #[arg(long, env = "CLICKCLACK_WEBHOOKS_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Stretches (or, in tests, shrinks) the retry schedule: 1.0 is 5 s,
    /// 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    #[arg(long, env = "CLICKCLACK_WEBHOOKS_RETRY_SCALE", default_value_t = 1.0)]
    pub retry_scale: f64,
    /// How long a claimed delivery is held before another replica may take
    /// it over (seconds).
    #[arg(long, env = "CLICKCLACK_WEBHOOKS_LEASE_SECONDS", default_value_t = 60)]
    pub lease_seconds: u64,
    /// Live event subscriptions a workspace may hold at once.
    #[arg(long, env = "CLICKCLACK_WEBHOOKS_MAX_PER_WORKSPACE", default_value_t = api::MAX_LIVE_PER_WORKSPACE)]
    pub max_per_workspace: i64,
    /// How long a slash-command invocation's response token answers
    /// follow-ups (seconds; 15 minutes, as Slack's response_url).
    #[arg(
        long,
        env = "CLICKCLACK_COMMAND_RESPONSE_SECONDS",
        default_value_t = 900
    )]
    pub command_response_seconds: u32,
    /// Prometheus metrics address (`GET /metrics`); not served when unset.
    #[arg(long, env = "CLICKCLACK_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

impl ProcessConfig for WebhooksConfig {
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

/// A migrated database and the peers it needs, ready to serve.
pub struct Webhooks {
    pool: PgPool,
    keys: CallerKeys,
    identity: IdentityServiceClient<Peer>,
    realtime: RealtimeServiceClient<Peer>,
    sealer: Arc<domain::sealing::Sealer>,
    policy: domain::target::TargetPolicy,
    timing: worker::Timing,
    concurrency: usize,
    quota: i64,
    /// How long a slash-command response token answers follow-ups.
    responses_for: chrono::TimeDelta,
}

fn as_this_service() -> Claims {
    Claims::service("svc:webhooks", "")
}

impl Service for Webhooks {
    type Config = WebhooksConfig;

    fn samplers(&self) -> Vec<Sampler> {
        vec![
            clickclack_common::metrics::pool_sampler("webhooks", self.pool.clone()),
            queue_sampler(self.pool.clone()),
        ]
    }

    fn open(config: &WebhooksConfig) -> Result<Webhooks, ServiceError> {
        let keys = config.keys.caller_keys()?;
        let pool = db::connect(
            &config.database_url,
            SCHEMA,
            MIGRATIONS,
            clickclack_common::db::PoolSize::new(config.db_pool_size, config.db_idle_timeout),
        )?;
        let key: AssertionKey = keys.internal.clone();
        let identity = IdentityServiceClient::new(traced_as(
            lazy_channel(&config.identity_addr)?,
            key.clone(),
            as_this_service,
        ));
        let realtime = RealtimeServiceClient::new(traced_as(
            lazy_channel(&config.realtime_addr)?,
            key,
            as_this_service,
        ));
        Ok(Webhooks {
            pool,
            identity,
            realtime,
            sealer: Arc::new(domain::sealing::Sealer::from_internal_key(
                &config.keys.internal_key,
            )),
            policy: domain::target::TargetPolicy {
                allow_private_networks: config.allow_private_networks,
                allowed_hosts: config
                    .allowed_hosts
                    .iter()
                    .map(|host| host.trim().to_ascii_lowercase())
                    .filter(|host| !host.is_empty())
                    .collect(),
            },
            timing: worker::Timing {
                lease: Duration::from_secs(config.lease_seconds.max(1)),
                retry_scale: config.retry_scale.clamp(0.0, 100.0),
            },
            concurrency: config.concurrency.max(1),
            quota: config.max_per_workspace.max(0),
            responses_for: chrono::TimeDelta::seconds(i64::from(
                config.command_response_seconds.max(1),
            )),
            keys,
        })
    }

    /// Serves the API, follows the log into the queue and sends what is
    /// due, until `shutdown`.
    async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), ServiceError> {
        let wake = Arc::new(Notify::new());
        let standings = standing::Standings::new(self.identity.clone());
        let feeder =
            feeder::Feeder::new(self.pool.clone(), self.realtime.clone(), standings.clone())
                .waking(wake.clone());
        // One HTTP client (and connection pool) for deliveries and slash
        // commands alike.
        let sender = delivery::Sender::new(self.policy.clone());
        let worker = worker::Worker::new(
            self.pool.clone(),
            sender.clone(),
            self.sealer.clone(),
            self.policy.clone(),
            standings,
        )
        .with_timing(self.timing);
        let running = tokio_util::task::TaskTracker::new();
        {
            let shutdown = shutdown.clone();
            running.spawn(async move { feeder.run(shutdown).await });
        }
        running.spawn(worker.run(self.concurrency, wake.clone(), shutdown.clone()));
        running.spawn(purge_old_log(self.pool.clone(), shutdown.clone()));
        running.spawn(notices::run(
            self.pool.clone(),
            self.identity.clone(),
            shutdown.clone(),
        ));
        running.close();
        let api = api::WebhooksApi::new(
            self.pool.clone(),
            self.sealer,
            Arc::new(self.policy),
            self.identity,
            wake,
            self.quota,
            api::CommandSettings {
                sender,
                responses_for: self.responses_for,
            },
        );
        let served = clickclack_common::service::serve_grpc(
            WebhooksServiceServer::new(api),
            self.keys,
            policy::callers,
            self.pool,
            listener,
            shutdown,
        )
        .await;
        running.wait().await;
        served
    }
}

/// Forgets log lines and finished deliveries past [`LOG_KEPT`], hourly.
async fn purge_old_log(pool: PgPool, shutdown: CancellationToken) {
    loop {
        let cutoff = chrono::Utc::now() - LOG_KEPT;
        let purged = db::run(&pool, move |conn| {
            let (lines, deliveries) = store::queue::purge_before(conn, cutoff)?;
            let invocations = store::invocations::purge_before(conn, cutoff)?;
            Ok::<_, error::WebhooksError>((lines, deliveries, invocations))
        })
        .await;
        match purged {
            Ok((0, 0, 0)) => {}
            Ok((lines, deliveries, invocations)) => {
                tracing::info!(
                    lines,
                    deliveries,
                    invocations,
                    "webhooks: forgot a week-old delivery and command log"
                )
            }
            Err(error) => tracing::warn!(%error, "webhooks: cannot purge the delivery log"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Queue depth and oldest waiting delivery per subscription, at scrape time.
fn queue_sampler(pool: PgPool) -> Sampler {
    Arc::new(move || {
        let Ok(mut conn) = pool.get() else {
            return;
        };
        let Ok(rows) = store::queue::waiting(&mut conn, None) else {
            return;
        };
        METRICS.webhook_queue_depth.reset();
        METRICS.webhook_oldest_pending.reset();
        let now = chrono::Utc::now();
        for (subscription, count, oldest) in rows {
            METRICS
                .webhook_queue_depth
                .with_label_values(&[&subscription])
                .set(count);
            let age = oldest.map_or(0, |at| (now - at).num_seconds().max(0));
            METRICS
                .webhook_oldest_pending
                .with_label_values(&[&subscription])
                .set(age);
        }
    })
}
