//! The whole ClickClack system in one process: identity and the gateway
//! (and each later service), each on its own listener, sharing one
//! shutdown signal. `clickclack dev` runs it on the default ports; the test
//! kit runs it on ephemeral ports against a fresh database.

use anyhow::Context;
use clickclack_common::db;
use clickclack_gateway::GatewayConfig;
use clickclack_identity::Identity;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Where the stack listens and what it talks to.
#[derive(Debug, Clone)]
pub struct StackConfig {
    pub database_url: String,
    /// Identity's gRPC address; port 0 picks a free one.
    pub identity_listen: SocketAddr,
    /// The gateway's HTTP address; port 0 picks a free one.
    pub http_addr: SocketAddr,
    pub auth_cache_ms: u64,
    /// Connections per service pool.
    pub db_pool_size: u32,
}

/// A started stack. Dropping it aborts every service; [`RunningStack::stop`]
/// shuts them down gracefully.
pub struct RunningStack {
    pub identity_addr: SocketAddr,
    pub http_addr: SocketAddr,
    shutdown: CancellationToken,
    services: JoinSet<(&'static str, anyhow::Result<()>)>,
}

impl RunningStack {
    /// Creates the database if needed, migrates it, binds every listener and
    /// starts serving. Returns once every service accepts connections.
    pub async fn start(
        config: StackConfig,
        shutdown: CancellationToken,
    ) -> anyhow::Result<RunningStack> {
        let url = config.database_url.clone();
        let pool_size = config.db_pool_size;
        let identity = tokio::task::spawn_blocking(move || -> anyhow::Result<Identity> {
            db::ensure_database_exists(&url)?;
            Ok(Identity::open(&url, pool_size)?)
        })
        .await??;

        let identity_listener = TcpListener::bind(config.identity_listen)
            .await
            .with_context(|| format!("cannot listen on {} for identity", config.identity_listen))?;
        let identity_addr = identity_listener.local_addr()?;
        let http_listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("cannot listen on {} for the gateway", config.http_addr))?;
        let http_addr = http_listener.local_addr()?;

        let gateway_config = GatewayConfig {
            http_addr,
            identity_addr: format!("http://{identity_addr}"),
            auth_cache_ms: config.auth_cache_ms,
        };
        let mut services = JoinSet::new();
        let token = shutdown.clone();
        services.spawn(async move {
            let outcome = identity.serve(identity_listener, token).await;
            ("identity", outcome.map_err(anyhow::Error::from))
        });
        let token = shutdown.clone();
        services.spawn(async move {
            let outcome = clickclack_gateway::serve(&gateway_config, http_listener, token).await;
            ("gateway", outcome)
        });
        Ok(RunningStack {
            identity_addr,
            http_addr,
            shutdown,
            services,
        })
    }

    pub fn identity_url(&self) -> String {
        format!("http://{}", self.identity_addr)
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// Waits until shutdown is requested or a service stops on its own; a
    /// service that stops takes the others down with it.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let first = self.services.join_next().await;
        self.shutdown.cancel();
        while self.services.join_next().await.is_some() {}
        match first {
            None | Some(Ok((_, Ok(())))) => Ok(()),
            Some(Ok((name, Err(e)))) => Err(e.context(format!("{name} stopped"))),
            Some(Err(e)) => Err(anyhow::anyhow!("a service panicked: {e}")),
        }
    }

    /// Stops every service and waits for them to finish.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        while self.services.join_next().await.is_some() {}
    }
}

/// What the dev stack creates in an empty database.
pub const DEFAULT_WORKSPACE_SLUG: &str = "default";
pub const DEFAULT_OWNER_EMAIL: &str = "owner@clickclack.local";

/// Bootstraps the `default` workspace with a human owner when the database
/// has no workspace yet. Returns what it created, or `None`.
pub async fn bootstrap_if_empty(
    identity_url: &str,
) -> anyhow::Result<Option<pb::BootstrapResponse>> {
    let mut identity = IdentityServiceClient::connect(identity_url.to_owned()).await?;
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
    Ok(Some(created))
}
