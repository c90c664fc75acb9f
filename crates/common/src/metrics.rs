//! Prometheus metrics of the gRPC services, served on each service's admin
//! port (`GET /metrics`). The gateway keeps its own HTTP metrics.
//!
//! One registry per process: the in-process dev stack runs every service in
//! one process, and the `rpc` label (the full gRPC path) says which service
//! answered.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

pub struct ServiceMetrics {
    registry: Registry,
    pub grpc_requests: IntCounterVec,
    pub grpc_latency: HistogramVec,
    pub db_pool_connections: IntGaugeVec,
    pub db_pool_idle: IntGaugeVec,
    pub outbox_backlog: IntGaugeVec,
    pub events_appended: IntCounter,
    pub events_delivered: IntCounter,
    /// Webhook attempts by what came of them (delivered, retry, failed,
    /// gave_up, disabled).
    pub webhook_attempts: IntCounterVec,
    pub webhook_attempt_latency: HistogramVec,
    /// Deliveries waiting, and the age of the oldest, per subscription
    /// (sampled at scrape time).
    pub webhook_queue_depth: IntGaugeVec,
    pub webhook_oldest_pending: IntGaugeVec,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique");
    metric
}

/// The process's service metrics.
pub static METRICS: LazyLock<ServiceMetrics> = LazyLock::new(|| {
    let registry =
        Registry::new_custom(Some("clickclack".into()), None).expect("valid metrics prefix");
    ServiceMetrics {
        grpc_requests: register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "grpc_requests_total",
                    "gRPC requests by method and status code",
                ),
                &["rpc", "code"],
            )
            .expect("valid metric"),
        ),
        grpc_latency: register(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "grpc_request_duration_seconds",
                    "Time to the response headers of each gRPC request, by method",
                ),
                &["rpc"],
            )
            .expect("valid metric"),
        ),
        db_pool_connections: register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "db_pool_connections",
                    "Open database connections by service",
                ),
                &["service"],
            )
            .expect("valid metric"),
        ),
        db_pool_idle: register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "db_pool_idle_connections",
                    "Idle database connections by service",
                ),
                &["service"],
            )
            .expect("valid metric"),
        ),
        outbox_backlog: register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "outbox_backlog",
                    "Events committed but not yet delivered to realtime",
                ),
                &["service"],
            )
            .expect("valid metric"),
        ),
        events_appended: register(
            &registry,
            IntCounter::new(
                "realtime_events_appended_total",
                "Durable events appended to the log",
            )
            .expect("valid metric"),
        ),
        events_delivered: register(
            &registry,
            IntCounter::new(
                "realtime_events_delivered_total",
                "Events handed to subscribers (gateways' sockets)",
            )
            .expect("valid metric"),
        ),
        webhook_attempts: register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "webhook_attempts_total",
                    "Webhook delivery attempts by outcome",
                ),
                &["outcome"],
            )
            .expect("valid metric"),
        ),
        webhook_attempt_latency: register(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "webhook_attempt_duration_seconds",
                    "Time from sending a webhook to its answer (or giving up), by outcome",
                )
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
                &["outcome"],
            )
            .expect("valid metric"),
        ),
        webhook_queue_depth: register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "webhook_queue_depth",
                    "Deliveries waiting to be sent, per subscription",
                ),
                &["subscription"],
            )
            .expect("valid metric"),
        ),
        webhook_oldest_pending: register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "webhook_oldest_pending_seconds",
                    "Age of the oldest delivery waiting, per subscription",
                ),
                &["subscription"],
            )
            .expect("valid metric"),
        ),
        registry,
    }
});

/// Refreshes gauges that are read at scrape time (pool state, backlog).
pub type Sampler = Arc<dyn Fn() + Send + Sync>;

/// The text exposition of every service metric, after running `samplers`.
pub fn render(samplers: &[Sampler]) -> String {
    for sample in samplers {
        sample();
    }
    let mut buffer = Vec::new();
    TextEncoder::new()
        .encode(&METRICS.registry.gather(), &mut buffer)
        .expect("encoding metrics cannot fail");
    String::from_utf8(buffer).expect("metrics text is UTF-8")
}

/// A sampler for an r2d2 pool's size.
pub fn pool_sampler(service: &'static str, pool: crate::db::PgPool) -> Sampler {
    Arc::new(move || {
        let state = pool.state();
        METRICS
            .db_pool_connections
            .with_label_values(&[service])
            .set(i64::from(state.connections));
        METRICS
            .db_pool_idle
            .with_label_values(&[service])
            .set(i64::from(state.idle_connections));
    })
}

/// Serves `GET /metrics` on `addr` until `shutdown`. Samplers may block
/// (they can query the database), so they run off the async runtime.
pub async fn serve(
    addr: SocketAddr,
    samplers: Vec<Sampler>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    serve_on(
        tokio::net::TcpListener::bind(addr).await?,
        samplers,
        shutdown,
    )
    .await
}

/// [`serve`] on a bound listener.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    samplers: Vec<Sampler>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), "metrics listening");
    let samplers = Arc::new(samplers);
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let samplers = samplers.clone();
            async move {
                let text = tokio::task::spawn_blocking(move || render(&samplers))
                    .await
                    .unwrap_or_default();
                (
                    [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    text,
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// Starts [`serve`] in the background when an address is configured; a
/// failure to bind is logged, and the service runs on without metrics.
pub fn spawn_server(addr: Option<SocketAddr>, samplers: Vec<Sampler>, shutdown: CancellationToken) {
    if let Some(addr) = addr {
        tokio::spawn(async move {
            if let Err(error) = serve(addr, samplers, shutdown).await {
                tracing::error!(%error, %addr, "cannot serve metrics");
            }
        });
    }
}

/// Counts every RPC and times it to its response headers, labelled with
/// the gRPC status (from the headers of an error answer; a successful one
/// carries its status in trailers, which means OK).
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> GrpcMetrics<S> {
        GrpcMetrics { inner }
    }
}

#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S, B, R> tower::Service<http::Request<B>> for GrpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let rpc = request.uri().path().to_owned();
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let result = answer.await;
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("0")
                    .to_owned(),
                Err(_) => "transport_error".to_owned(),
            };
            METRICS
                .grpc_requests
                .with_label_values(&[rpc.as_str(), code.as_str()])
                .inc();
            METRICS
                .grpc_latency
                .with_label_values(&[rpc.as_str()])
                .observe(started.elapsed().as_secs_f64());
            result
        })
    }
}
