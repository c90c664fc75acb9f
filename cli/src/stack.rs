//! The whole ClickClack system in one process: identity, messaging,
//! realtime, webhooks and the gateway, each a [`Part`] on its own listener.
//! `clickclack dev` runs it on the default ports; the test kit runs it on
//! ephemeral ports against a fresh database, and stops and restarts single
//! parts to play outages.

use anyhow::Context;
use clickclack_common::assertion::{AssertionKey, Claims};
use clickclack_common::caller_policy::KeyArgs;
use clickclack_common::db;
use clickclack_common::service::Service;
use clickclack_gateway::GatewayConfig;
use clickclack_identity::{Identity, IdentityConfig};
use clickclack_messaging::{Messaging, MessagingConfig};
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use clickclack_proto::messaging as messaging_pb;
use clickclack_proto::messaging::messaging_service_client::MessagingServiceClient;
use clickclack_realtime::{Realtime, RealtimeConfig};
use clickclack_webhooks::{Webhooks, WebhooksConfig};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Where the stack listens and what it talks to.
#[derive(Debug, Clone)]
pub struct StackConfig {
    pub database_url: String,
    /// Identity's gRPC address; port 0 picks a free one.
    pub identity_listen: SocketAddr,
    /// Messaging's gRPC address; port 0 picks a free one.
    pub messaging_listen: SocketAddr,
    /// Realtime's gRPC address; port 0 picks a free one.
    pub realtime_listen: SocketAddr,
    /// Webhooks' gRPC address; port 0 picks a free one.
    pub webhooks_listen: SocketAddr,
    /// Where webhooks may deliver, and its clock.
    pub webhooks: WebhookSettings,
    /// The gateway's HTTP address; port 0 picks a free one.
    pub http_addr: SocketAddr,
    /// Where messaging stores uploaded files.
    pub upload_dir: PathBuf,
    pub upload_max_bytes: u64,
    /// Signs principal assertions between the gateway and the services.
    pub internal_key: String,
    /// Signs operators' admin calls (the CLI, bootstrap).
    pub operator_key: String,
    pub auth_cache_ms: u64,
    /// The most database connections each service's pool opens.
    pub db_pools: DbPools,
    /// The gateway's rate limits and load shedding.
    pub limits: clickclack_gateway::limits::LimitsConfig,
    /// Magic-link delivery and the public URL.
    pub mail: clickclack_gateway::mail::MailConfig,
}

/// What the webhooks service is started with beyond addresses and keys.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Deliver to private and loopback addresses: on by default here,
    /// since a dev stack's receivers run on the same machine.
    pub allow_private_networks: bool,
    pub allowed_hosts: Vec<String>,
    /// 1.0: the production retry schedule; tests shrink it.
    pub retry_scale: f64,
    pub lease_seconds: u64,
    /// Live subscriptions a workspace may hold.
    pub max_per_workspace: i64,
    /// How long a slash command's response token answers follow-ups
    /// (seconds; tests shrink it).
    pub command_response_seconds: u32,
}

impl Default for WebhookSettings {
    fn default() -> WebhookSettings {
        WebhookSettings {
            allow_private_networks: true,
            allowed_hosts: Vec::new(),
            retry_scale: 1.0,
            lease_seconds: 60,
            max_per_workspace: clickclack_webhooks::api::MAX_LIVE_PER_WORKSPACE,
            command_response_seconds: 900,
        }
    }
}

/// The largest pool of each service. Pools shrink to one idle connection
/// each when unused (`clickclack_common::db::POOL_MIN_IDLE`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct DbPools {
    /// Identity's largest pool (sign-ins, token checks, admin).
    #[arg(
        long = "identity-db-pool",
        env = "CLICKCLACK_IDENTITY_DB_POOL",
        default_value_t = 4
    )]
    pub identity: u32,
    /// Messaging's largest pool (every post, read and search).
    #[arg(
        long = "messaging-db-pool",
        env = "CLICKCLACK_MESSAGING_DB_POOL",
        default_value_t = 12
    )]
    pub messaging: u32,
    /// Realtime's largest pool (appends, pulls, replays).
    #[arg(
        long = "realtime-db-pool",
        env = "CLICKCLACK_REALTIME_DB_POOL",
        default_value_t = 4
    )]
    pub realtime: u32,
    /// Webhooks' largest pool (the feeder, the worker, the API).
    #[arg(
        long = "webhooks-db-pool",
        env = "CLICKCLACK_WEBHOOKS_DB_POOL",
        default_value_t = 4
    )]
    pub webhooks: u32,
    #[command(flatten)]
    pub idle_timeout: clickclack_common::db::IdleTimeout,
}

impl DbPools {
    /// The same size for every service.
    pub fn all(size: u32) -> DbPools {
        DbPools {
            identity: size,
            messaging: size,
            realtime: size,
            webhooks: size,
            idle_timeout: Default::default(),
        }
    }

    /// These pools, closing an extra connection once it has been unused
    /// for `timeout`.
    pub fn idle_after(self, timeout: std::time::Duration) -> DbPools {
        DbPools {
            idle_timeout: clickclack_common::db::IdleTimeout::after(timeout),
            ..self
        }
    }
}

/// One running part of the stack (a service or the gateway): its task and
/// the signal that stops it. Dropping a part aborts its task.
pub struct Part {
    name: &'static str,
    stop: CancellationToken,
    /// `None` once the part has stopped and been joined.
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Part {
    fn spawn(
        name: &'static str,
        stop: CancellationToken,
        serve: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> Part {
        Part {
            name,
            stop,
            task: Some(tokio::spawn(serve)),
        }
    }

    /// Stops this part alone, gracefully, and waits for it.
    pub async fn stop(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Ready when the part stops on its own (or panics); the part is then
    /// joined.
    fn poll_finished(&mut self, cx: &mut std::task::Context<'_>) -> Poll<anyhow::Result<()>> {
        let Some(task) = self.task.as_mut() else {
            return Poll::Pending;
        };
        let joined = std::task::ready!(Pin::new(task).poll(cx));
        self.task = None;
        Poll::Ready(joined.unwrap_or_else(|e| Err(anyhow::anyhow!("panicked: {e}"))))
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// A started stack. Dropping it aborts every part; [`RunningStack::stop`]
/// shuts them down gracefully: the gateway first (so its sockets get 1001
/// while the services behind it still answer), then the services.
///
/// Each part can also be stopped and started on its own (outage and
/// redeploy tests do): stop it with [`Part::stop`], start it again on its
/// old address with [`start_realtime`] or [`start_gateway`] and the config
/// kept here.
pub struct RunningStack {
    pub identity_addr: SocketAddr,
    pub messaging_addr: SocketAddr,
    pub realtime_addr: SocketAddr,
    pub webhooks_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub identity: Part,
    pub messaging: Part,
    pub realtime: Part,
    pub webhooks: Part,
    pub gateway: Part,
    /// What realtime was started with, to start it again.
    pub realtime_config: RealtimeConfig,
    /// What webhooks was started with, to start it again.
    pub webhooks_config: WebhooksConfig,
    /// What the gateway was started with, to start it again.
    pub gateway_config: GatewayConfig,
    operator_key: String,
    /// The caller's signal: once cancelled, the stack stops in order.
    shutdown: CancellationToken,
}

/// Binds `addr` (port 0 picks a free one) and says which address it got.
pub async fn bind(addr: SocketAddr, service: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for {service}"))?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

/// Serves an opened service on `listener` as a part of its own.
fn serve_part<S: Service>(name: &'static str, service: S, listener: TcpListener) -> Part {
    let stop = CancellationToken::new();
    let token = stop.clone();
    Part::spawn(name, stop, async move {
        Ok(service.serve(listener, token).await?)
    })
}

/// Opens webhooks (migrations included) and serves it on `listener`.
pub async fn start_webhooks(config: WebhooksConfig, listener: TcpListener) -> anyhow::Result<Part> {
    let webhooks = tokio::task::spawn_blocking(move || Webhooks::open(&config)).await??;
    Ok(serve_part("webhooks", webhooks, listener))
}

/// Opens realtime (migrations included) and serves it on `listener`.
pub async fn start_realtime(config: RealtimeConfig, listener: TcpListener) -> anyhow::Result<Part> {
    let realtime = tokio::task::spawn_blocking(move || Realtime::open(&config)).await??;
    Ok(serve_part("realtime", realtime, listener))
}

impl RunningStack {
    /// Creates the database if needed, migrates it, binds every listener and
    /// starts serving. Returns once every service accepts connections.
    pub async fn start(
        config: StackConfig,
        shutdown: CancellationToken,
    ) -> anyhow::Result<RunningStack> {
        // Bind first, so every service knows its peers' addresses.
        let (identity_listener, identity_addr) = bind(config.identity_listen, "identity").await?;
        let (messaging_listener, messaging_addr) =
            bind(config.messaging_listen, "messaging").await?;
        let (realtime_listener, realtime_addr) = bind(config.realtime_listen, "realtime").await?;
        let (webhooks_listener, webhooks_addr) = bind(config.webhooks_listen, "webhooks").await?;
        let (http_listener, http_addr) = bind(config.http_addr, "the gateway").await?;

        let keys = KeyArgs {
            internal_key: config.internal_key.clone(),
            operator_key: config.operator_key.clone(),
        };
        let realtime_config = RealtimeConfig {
            database_url: config.database_url.clone(),
            listen: realtime_addr,
            internal_key: config.internal_key.clone(),
            db_pool_size: config.db_pools.realtime,
            db_idle_timeout: config.db_pools.idle_timeout,
            metrics_addr: None,
        };
        let messaging_config = MessagingConfig {
            database_url: config.database_url.clone(),
            listen: messaging_addr,
            upload_dir: config.upload_dir.clone(),
            upload_max_bytes: config.upload_max_bytes,
            keys: keys.clone(),
            db_pool_size: config.db_pools.messaging,
            db_idle_timeout: config.db_pools.idle_timeout,
            metrics_addr: None,
            realtime_addr: format!("http://{realtime_addr}"),
        };
        let webhooks_config = WebhooksConfig {
            database_url: config.database_url.clone(),
            listen: webhooks_addr,
            keys: keys.clone(),
            identity_addr: format!("http://{identity_addr}"),
            realtime_addr: format!("http://{realtime_addr}"),
            db_pool_size: config.db_pools.webhooks,
            db_idle_timeout: config.db_pools.idle_timeout,
            concurrency: 64,
            allow_private_networks: config.webhooks.allow_private_networks,
            allowed_hosts: config.webhooks.allowed_hosts.clone(),
            retry_scale: config.webhooks.retry_scale,
            lease_seconds: config.webhooks.lease_seconds,
            max_per_workspace: config.webhooks.max_per_workspace,
            command_response_seconds: config.webhooks.command_response_seconds,
            metrics_addr: None,
        };
        let identity_config = IdentityConfig {
            database_url: config.database_url.clone(),
            listen: identity_addr,
            db_pool_size: config.db_pools.identity,
            db_idle_timeout: config.db_pools.idle_timeout,
            metrics_addr: None,
            realtime_addr: format!("http://{realtime_addr}"),
            keys,
        };
        let realtime_opened = realtime_config.clone();
        let webhooks_opened = webhooks_config.clone();
        let url = config.database_url.clone();
        let (identity, messaging, realtime, webhooks) =
            tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                db::ensure_database_exists(&url)?;
                Ok((
                    Identity::open(&identity_config)?,
                    Messaging::open(&messaging_config)?,
                    Realtime::open(&realtime_opened)?,
                    Webhooks::open(&webhooks_opened)?,
                ))
            })
            .await??;

        let gateway_config = GatewayConfig {
            http_addr,
            identity_addr: format!("http://{identity_addr}"),
            auth_cache_ms: config.auth_cache_ms,
            messaging_addr: format!("http://{messaging_addr}"),
            realtime_addr: format!("http://{realtime_addr}"),
            webhooks_addr: format!("http://{webhooks_addr}"),
            internal_key: config.internal_key.clone(),
            upload_max_bytes: config.upload_max_bytes,
            limits: config.limits.clone(),
            mail: config.mail.clone(),
            ..GatewayConfig::default()
        };
        Ok(RunningStack {
            identity_addr,
            messaging_addr,
            realtime_addr,
            webhooks_addr,
            http_addr,
            identity: serve_part("identity", identity, identity_listener),
            realtime: serve_part("realtime", realtime, realtime_listener),
            messaging: serve_part("messaging", messaging, messaging_listener),
            webhooks: serve_part("webhooks", webhooks, webhooks_listener),
            gateway: start_gateway(gateway_config.clone(), http_listener)?,
            realtime_config,
            webhooks_config,
            gateway_config,
            operator_key: config.operator_key,
            shutdown,
        })
    }

    pub fn realtime_url(&self) -> String {
        format!("http://{}", self.realtime_addr)
    }

    pub fn webhooks_url(&self) -> String {
        format!("http://{}", self.webhooks_addr)
    }

    pub fn identity_url(&self) -> String {
        format!("http://{}", self.identity_addr)
    }

    pub fn messaging_url(&self) -> String {
        format!("http://{}", self.messaging_addr)
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// Waits until shutdown is requested or a part stops on its own; a part
    /// that stops takes the others down with it.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let shutdown = self.shutdown.clone();
        let first = tokio::select! {
            stopped = self.first_to_stop() => Some(stopped),
            _ = shutdown.cancelled() => None,
        };
        self.stop_in_order().await;
        match first {
            None | Some((_, Ok(()))) => Ok(()),
            Some((name, Err(e))) => Err(e.context(format!("{name} stopped"))),
        }
    }

    /// The first part to stop on its own, and how it ended.
    async fn first_to_stop(&mut self) -> (&'static str, anyhow::Result<()>) {
        std::future::poll_fn(|cx| {
            for part in self.parts() {
                if let Poll::Ready(outcome) = part.poll_finished(cx) {
                    return Poll::Ready((part.name, outcome));
                }
            }
            Poll::Pending
        })
        .await
    }

    fn parts(&mut self) -> [&mut Part; 5] {
        [
            &mut self.gateway,
            &mut self.identity,
            &mut self.messaging,
            &mut self.realtime,
            &mut self.webhooks,
        ]
    }

    /// Stops every part and waits for them to finish.
    pub async fn stop(mut self) {
        self.stop_in_order().await;
    }

    /// The gateway first, so its sockets are closed with 1001 while the
    /// services still answer, then everything else.
    async fn stop_in_order(&mut self) {
        self.gateway.stop().await;
        // The services stop together.
        for part in self.parts() {
            part.stop.cancel();
        }
        for part in self.parts() {
            part.stop().await;
        }
    }
}

/// Longest wait, once the gateway has stopped serving, for its leftover
/// blocking work before its runtime is torn down anyway.
const GATEWAY_TEARDOWN: Duration = Duration::from_secs(5);

/// Serves the gateway on `listener`, on a runtime of its own on a thread of
/// its own, as if it were a separate process.
///
/// Why not a task like the services: axum's graceful shutdown only waits
/// for plain HTTP connections. Upgraded WebSockets live on in detached
/// tasks, so a gateway stopped in place would keep streaming events to its
/// clients. Dropping the gateway's runtime ends every task it spawned, so
/// stopping it cuts those sockets as a real gateway exit would, while the
/// gateway itself still starts through `clickclack_gateway::serve`.
pub fn start_gateway(config: GatewayConfig, listener: TcpListener) -> anyhow::Result<Part> {
    // Moved off this runtime's reactor, to be registered with the gateway's.
    let listener = listener.into_std()?;
    let (done, finished) = tokio::sync::oneshot::channel();
    let stop = CancellationToken::new();
    let token = stop.clone();
    std::thread::Builder::new()
        .name("gateway".into())
        .spawn(move || {
            let serve = || -> anyhow::Result<()> {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .thread_name("gateway-worker")
                    .build()?;
                let outcome = runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener)?;
                    clickclack_gateway::serve(&config, listener, token).await
                });
                runtime.shutdown_timeout(GATEWAY_TEARDOWN);
                Ok(outcome?)
            };
            let _ = done.send(serve());
        })
        .context("cannot start the gateway thread")?;
    let guard = stop.clone();
    Ok(Part::spawn("gateway", stop, async move {
        // Aborting this task (dropping the part) drops the guard, which
        // stops the gateway thread too.
        let _stop_gateway = guard.drop_guard();
        finished
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the gateway thread panicked")))
    }))
}

/// What the dev stack creates in an empty database.
pub const DEFAULT_WORKSPACE_SLUG: &str = "default";
pub const DEFAULT_OWNER_EMAIL: &str = "owner@clickclack.local";

/// Creates the workspace's `general` channel unless it exists, as an
/// operator acting for `owner_id` (a workspace owner), signed with
/// `operator_key`.
pub async fn ensure_general_channel(
    messaging_url: &str,
    operator_key: &str,
    workspace_id: &str,
    owner_id: &str,
) -> anyhow::Result<messaging_pb::Channel> {
    let key = AssertionKey::operator(operator_key)?;
    let claims = Claims::operator(Some((owner_id, workspace_id)));
    let mut messaging = MessagingServiceClient::connect(messaging_url.to_owned())
        .await
        .with_context(|| format!("cannot reach the messaging service at {messaging_url}"))?;
    let reply = messaging
        .create_channel(key.request(&claims, clickclack_proto::general_channel_request()))
        .await
        .map_err(|status| anyhow::anyhow!("{}", status.message()))?
        .into_inner();
    reply.channel.context("messaging returned no channel")
}

impl RunningStack {
    /// Identity, as the deployment's operator.
    async fn operator_identity(
        &self,
    ) -> anyhow::Result<IdentityServiceClient<clickclack_common::grpc::Peer>> {
        let channel = tonic::transport::Channel::from_shared(self.identity_url())?
            .connect()
            .await?;
        let key = AssertionKey::operator(&self.operator_key)?;
        Ok(IdentityServiceClient::new(
            clickclack_common::grpc::traced_as(channel, key, Claims::deployment_operator),
        ))
    }

    /// A one-time sign-in link to the web app for the bootstrapped dev owner
    /// (`clickclack dev` prints it at start-up).
    pub async fn owner_sign_in_link(&self) -> anyhow::Result<String> {
        let mut identity = self.operator_identity().await?;
        let link = identity
            .create_magic_link(pb::CreateMagicLinkRequest {
                email: DEFAULT_OWNER_EMAIL.into(),
                ..Default::default()
            })
            .await?
            .into_inner();
        Ok(format!("{}/?magic={}", self.http_url(), link.token))
    }

    /// Bootstraps the `default` workspace, with a human owner and a
    /// `general` channel, when the database has no workspace yet. Returns
    /// what it created, or `None`.
    pub async fn bootstrap_if_empty(&self) -> anyhow::Result<Option<pb::BootstrapResponse>> {
        let mut identity = self.operator_identity().await?;
        let existing = identity
            .list_workspaces(pb::ListWorkspacesRequest {
                member_user_id: None,
            })
            .await?
            .into_inner();
        if !existing.workspaces.is_empty() {
            return Ok(None);
        }
        let created = identity
            .bootstrap(pb::BootstrapRequest {
                owner_display_name: "Dev Owner".into(),
                owner_email: DEFAULT_OWNER_EMAIL.into(),
                workspace_name: "Default".into(),
                workspace_slug: DEFAULT_WORKSPACE_SLUG.into(),
            })
            .await?
            .into_inner();
        let workspace = created.workspace.as_ref().context("no workspace")?;
        let owner = created.owner.as_ref().context("no owner")?;
        ensure_general_channel(
            &self.messaging_url(),
            &self.operator_key,
            &workspace.id,
            &owner.id,
        )
        .await?;
        Ok(Some(created))
    }
}
