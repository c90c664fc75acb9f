//! The whole ClickClack system in one process: identity and the gateway
//! (and each later service), each on its own listener, sharing one
//! shutdown signal. `clickclack dev` runs it on the default ports; the test
//! kit runs it on ephemeral ports against a fresh database.

use anyhow::Context;
use clickclack_common::assertion::{AssertionKey, Claims};
use clickclack_common::db;
use clickclack_common::scopes::Scope;
use clickclack_gateway::GatewayConfig;
use clickclack_identity::Identity;
use clickclack_messaging::{Messaging, MessagingConfig};
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use clickclack_proto::messaging as messaging_pb;
use clickclack_proto::messaging::messaging_service_client::MessagingServiceClient;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Where the stack listens and what it talks to.
#[derive(Debug, Clone)]
pub struct StackConfig {
    pub database_url: String,
    /// Identity's gRPC address; port 0 picks a free one.
    pub identity_listen: SocketAddr,
    /// Messaging's gRPC address; port 0 picks a free one.
    pub messaging_listen: SocketAddr,
    /// The gateway's HTTP address; port 0 picks a free one.
    pub http_addr: SocketAddr,
    /// Where messaging stores uploaded files.
    pub upload_dir: PathBuf,
    pub upload_max_bytes: u64,
    /// Signs principal assertions between the gateway and the services.
    pub internal_key: String,
    pub auth_cache_ms: u64,
    /// Connections per service pool.
    pub db_pool_size: u32,
}

/// A started stack. Dropping it aborts every service; [`RunningStack::stop`]
/// shuts them down gracefully.
pub struct RunningStack {
    pub identity_addr: SocketAddr,
    pub messaging_addr: SocketAddr,
    pub http_addr: SocketAddr,
    internal_key: String,
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
        let messaging_config = MessagingConfig {
            database_url: config.database_url.clone(),
            listen: config.messaging_listen,
            upload_dir: config.upload_dir.clone(),
            upload_max_bytes: config.upload_max_bytes,
            internal_key: config.internal_key.clone(),
            db_pool_size: config.db_pool_size,
        };
        let url = config.database_url.clone();
        let pool_size = config.db_pool_size;
        let (identity, messaging) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            db::ensure_database_exists(&url)?;
            Ok((
                Identity::open(&url, pool_size)?,
                Messaging::open(&messaging_config)?,
            ))
        })
        .await??;

        let identity_listener = TcpListener::bind(config.identity_listen)
            .await
            .with_context(|| format!("cannot listen on {} for identity", config.identity_listen))?;
        let identity_addr = identity_listener.local_addr()?;
        let messaging_listener = TcpListener::bind(config.messaging_listen)
            .await
            .with_context(|| {
                format!("cannot listen on {} for messaging", config.messaging_listen)
            })?;
        let messaging_addr = messaging_listener.local_addr()?;
        let http_listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("cannot listen on {} for the gateway", config.http_addr))?;
        let http_addr = http_listener.local_addr()?;

        let gateway_config = GatewayConfig {
            http_addr,
            identity_addr: format!("http://{identity_addr}"),
            auth_cache_ms: config.auth_cache_ms,
            messaging_addr: format!("http://{messaging_addr}"),
            internal_key: config.internal_key.clone(),
            upload_max_bytes: config.upload_max_bytes,
        };
        let mut services = JoinSet::new();
        let token = shutdown.clone();
        services.spawn(async move {
            let outcome = identity.serve(identity_listener, token).await;
            ("identity", outcome.map_err(anyhow::Error::from))
        });
        let token = shutdown.clone();
        services.spawn(async move {
            let outcome = messaging.serve(messaging_listener, token).await;
            ("messaging", outcome.map_err(anyhow::Error::from))
        });
        let token = shutdown.clone();
        services.spawn(async move {
            let outcome = clickclack_gateway::serve(&gateway_config, http_listener, token).await;
            ("gateway", outcome)
        });
        Ok(RunningStack {
            identity_addr,
            messaging_addr,
            http_addr,
            internal_key: config.internal_key,
            shutdown,
            services,
        })
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

/// Creates the workspace's `general` channel unless it exists, acting as
/// `owner_id` (a workspace owner) with an assertion signed by `internal_key`.
pub async fn ensure_general_channel(
    messaging_url: &str,
    internal_key: &str,
    workspace_id: &str,
    owner_id: &str,
) -> anyhow::Result<messaging_pb::Channel> {
    let key = AssertionKey::from_secret(internal_key)?;
    let scopes: BTreeSet<Scope> = [Scope::ChannelsWrite, Scope::ChannelsRead]
        .into_iter()
        .collect();
    let claims = Claims::new(owner_id, "human", workspace_id, "owner", &scopes);
    let mut messaging = MessagingServiceClient::connect(messaging_url.to_owned())
        .await
        .with_context(|| format!("cannot reach the messaging service at {messaging_url}"))?;
    let reply = messaging
        .create_channel(key.request(
            &claims,
            messaging_pb::CreateChannelRequest {
                name: "general".into(),
                kind: "public".into(),
                if_missing: true,
                ..Default::default()
            },
        ))
        .await
        .map_err(|status| anyhow::anyhow!("{}", status.message()))?
        .into_inner();
    reply.channel.context("messaging returned no channel")
}

impl RunningStack {
    /// Bootstraps the `default` workspace, with a human owner and a
    /// `general` channel, when the database has no workspace yet. Returns
    /// what it created, or `None`.
    pub async fn bootstrap_if_empty(&self) -> anyhow::Result<Option<pb::BootstrapResponse>> {
        let mut identity = IdentityServiceClient::connect(self.identity_url()).await?;
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
            &self.internal_key,
            &workspace.id,
            &owner.id,
        )
        .await?;
        Ok(Some(created))
    }
}
