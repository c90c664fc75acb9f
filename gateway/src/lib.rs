//! ClickClack gateway: the HTTP API of `API.md` in front of the gRPC
//! services. It authenticates bearer tokens through identity, enforces
//! scopes and workspace binding, and forwards to the service that owns the
//! data. It stores nothing durable.

pub mod auth;
pub mod error;
pub mod metrics;
pub mod middleware;
pub mod routes;
pub mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use state::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};

pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8080";
pub const DEFAULT_IDENTITY_ADDR: &str = "http://127.0.0.1:50051";

/// JSON request bodies are capped at 1 MiB (API.md §0).
const JSON_BODY_LIMIT: usize = 1024 * 1024;

#[derive(Debug, Clone, clap::Args)]
pub struct GatewayConfig {
    /// HTTP listen address.
    #[arg(long, env = "CLICKCLACK_HTTP_ADDR", default_value = DEFAULT_HTTP_ADDR)]
    pub http_addr: SocketAddr,
    /// Identity service gRPC address.
    #[arg(long, env = "CLICKCLACK_IDENTITY_ADDR", default_value = DEFAULT_IDENTITY_ADDR)]
    pub identity_addr: String,
    /// How long a successful authentication is reused, in milliseconds.
    /// Revocations take effect within this time; keep it under 1000.
    #[arg(long, env = "CLICKCLACK_AUTH_CACHE_MS", default_value_t = 500)]
    pub auth_cache_ms: u64,
}

/// A gRPC channel that connects on first use, so the gateway can start
/// before its peers and recover when they come back.
fn lazy_channel(addr: &str) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(addr.to_owned())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(15))
        .connect_lazy())
}

pub fn build_state(config: &GatewayConfig) -> anyhow::Result<AppState> {
    let identity = lazy_channel(&config.identity_addr)?;
    Ok(AppState {
        identity: IdentityServiceClient::new(identity.clone()),
        identity_health: tonic_health::pb::health_client::HealthClient::new(identity),
        auth_cache: Arc::new(auth::AuthCache::new(Duration::from_millis(
            config.auth_cache_ms,
        ))),
        metrics: Arc::new(metrics::Metrics::new()),
    })
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/me", get(routes::me::get_me))
        .route("/api/workspaces", get(routes::workspaces::list))
        .route("/api/workspaces/{id}", get(routes::workspaces::get))
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .route("/metrics", get(routes::ops::metrics))
        .route_layer(axum::middleware::from_fn(middleware::expose_matched_path))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed);
    api.layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ))
        .with_state(state)
}

/// Serves the gateway on `listener` until `shutdown` is cancelled.
pub async fn serve(
    config: &GatewayConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let app = router(build_state(config)?);
    tracing::info!(addr = ?listener.local_addr().ok(), "gateway listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}

/// Runs the gateway as its own process.
pub async fn run(config: GatewayConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.http_addr).await?;
    serve(&config, listener, shutdown).await
}
