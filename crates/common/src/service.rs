//! What every gRPC service process has in common, written once: how it
//! serves (health that follows its database, reflection, the caller policy
//! in front of its API) and how it runs as a process of its own (open and
//! migrate off the async threads, bind, metrics, serve until shutdown).
//! A service supplies only what is its own: its config, how it opens, and
//! the API it puts behind the policy.

use crate::assertion::AssertionError;
use crate::caller_policy::{CallerKeys, CallerPolicy, DevKeyRefused, Policy};
use crate::db::{DbError, PgPool};
use crate::metrics::Sampler;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;

/// Why a service could not start, or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("invalid key: {0}")]
    Key(#[from] AssertionError),
    #[error(transparent)]
    DevKey(#[from] DevKeyRefused),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("start-up task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The flags a service process reads besides its own.
pub trait ProcessConfig: Clone + Send + 'static {
    /// The gRPC listen address.
    fn listen(&self) -> SocketAddr;
    /// Where Prometheus metrics are served, if anywhere.
    fn metrics_addr(&self) -> Option<SocketAddr>;
    /// Refuses the public development keys: a service started on its own
    /// (not under `clickclack dev`) must hold real secrets.
    fn refuse_dev_keys(&self) -> Result<(), DevKeyRefused>;
}

/// A service that can run as a process of its own.
pub trait Service: Sized + Send + 'static {
    type Config: ProcessConfig;

    /// Connects, runs pending migrations and checks the keys. Blocking.
    fn open(config: &Self::Config) -> Result<Self, ServiceError>;

    /// What the metrics endpoint samples at each scrape.
    fn samplers(&self) -> Vec<Sampler>;

    /// Serves on `listener` until `shutdown` is cancelled.
    fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<(), ServiceError>> + Send;
}

/// Runs `S` as its own process (compose, Kubernetes) until `shutdown`.
pub async fn run<S: Service>(
    config: S::Config,
    shutdown: CancellationToken,
) -> Result<(), ServiceError> {
    config.refuse_dev_keys()?;
    let opened = config.clone();
    let service = tokio::task::spawn_blocking(move || S::open(&opened)).await??;
    let addr = config.listen();
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServiceError::Listen { addr, source })?;
    crate::metrics::spawn_server(config.metrics_addr(), service.samplers(), shutdown.clone());
    service.serve(listener, shutdown).await
}

/// Serves `api` behind the caller policy, with health checks that follow
/// `pool`'s database and reflection, on `listener` until `shutdown`.
pub async fn serve_grpc<S>(
    api: S,
    keys: CallerKeys,
    callers: Policy,
    pool: PgPool,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServiceError>
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        > + NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    crate::grpc::watch_database_health(pool, health_reporter, S::NAME, shutdown.clone());
    tracing::info!(service = S::NAME, addr = ?listener.local_addr().ok(), "listening");
    crate::grpc::server()
        .add_service(health_service)
        .add_service(crate::grpc::reflection_service())
        .add_service(CallerPolicy::new(api, keys, callers))
        .serve_with_incoming_shutdown(crate::grpc::incoming(listener), shutdown.cancelled_owned())
        .await?;
    Ok(())
}
