//! What every gRPC service serves besides its own API: `grpc.health.v1`
//! (reporting NOT_SERVING while its database is unreachable) and reflection.

use crate::db::{self, PgPool};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// The longest status message a service sends. Messages may quote what a
/// caller sent (an id, a name); bounding them keeps caller input from ever
/// growing a response's metadata past what HTTP/2 peers accept, which would
/// break the connection shared by every other caller.
pub const MAX_STATUS_MESSAGE: usize = 256;
/// The largest metadata block (HTTP/2 header list) servers and clients
/// accept, set deliberately on both sides.
pub const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;
/// Dead peers are noticed within about two of these: a ping every interval,
/// and the connection is dropped when a ping is not answered in time.
pub const KEEPALIVE: Duration = Duration::from_secs(1);

/// A status whose message is cut to [`MAX_STATUS_MESSAGE`] bytes.
pub fn status(code: tonic::Code, message: impl Into<String>) -> tonic::Status {
    tonic::Status::new(code, bounded(message.into()))
}

/// `message` cut to [`MAX_STATUS_MESSAGE`] bytes at a character boundary.
pub fn bounded(message: String) -> String {
    if message.len() <= MAX_STATUS_MESSAGE {
        return message;
    }
    format!("{}...", prefix_within(&message, MAX_STATUS_MESSAGE - 3))
}

/// The longest prefix of `text` that fits in `max` bytes without splitting
/// a character.
pub fn prefix_within(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// How a service answers a database failure: text Postgres cannot store
/// is the caller's mistake (`INVALID_ARGUMENT`); a pool that cannot give a
/// connection is `UNAVAILABLE` (the gateway answers 503 and the caller
/// retries); anything else is `INTERNAL`, logged here and never described
/// to the caller.
pub fn database_status(error: db::DbError, service: &'static str) -> tonic::Status {
    match error {
        e if e.is_invalid_text() => status(tonic::Code::InvalidArgument, db::INVALID_TEXT),
        db::DbError::Pool(e) => {
            tracing::warn!(service, error = %e, "database pool unavailable");
            tonic::Status::unavailable(format!("{service} database unavailable"))
        }
        e => {
            tracing::error!(service, error = %e, "database error");
            tonic::Status::internal("internal error")
        }
    }
}

/// How often the health watcher probes the database.
const DATABASE_PROBE_INTERVAL: Duration = Duration::from_secs(2);

pub fn reflection_service() -> tonic_reflection::server::v1::ServerReflectionServer<
    impl tonic_reflection::server::v1::ServerReflection,
> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(clickclack_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the embedded descriptor set is valid")
}

/// Keeps `service_name`'s health status in step with database reachability
/// until `shutdown` fires.
pub fn watch_database_health(
    pool: PgPool,
    reporter: HealthReporter,
    service_name: &'static str,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let probe = pool.clone();
            let healthy = tokio::task::spawn_blocking(move || db::ping(&probe).is_ok())
                .await
                .unwrap_or(false);
            let status = if healthy {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            if last != Some(healthy) {
                if !healthy {
                    tracing::warn!(service = service_name, "database unreachable");
                }
                reporter.set_service_status(service_name, status).await;
                reporter.set_service_status("", status).await;
                last = Some(healthy);
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(DATABASE_PROBE_INTERVAL) => {}
            }
        }
    });
}

/// Incoming connections for a tonic server on a bound listener, with
/// `TCP_NODELAY` on: small gRPC answers otherwise wait out delayed ACKs
/// (about 40 ms per call).
pub fn incoming(listener: tokio::net::TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// What every outgoing call carries: the caller's trace context and, unless
/// the call already carries an assertion (a principal's), this process's own
/// credential.
#[derive(Clone, Default)]
pub struct TraceContext {
    credential: Option<(
        crate::assertion::AssertionKey,
        fn() -> crate::assertion::Claims,
    )>,
}

impl std::fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceContext").finish_non_exhaustive()
    }
}

impl tonic::service::Interceptor for TraceContext {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        crate::telemetry::inject(request.metadata_mut());
        if let Some((key, claims)) = &self.credential
            && !request
                .metadata()
                .contains_key(crate::assertion::METADATA_KEY)
        {
            let value = key
                .sign(&claims())
                .parse()
                .expect("a JWT is valid metadata");
            request
                .metadata_mut()
                .insert(crate::assertion::METADATA_KEY, value);
        }
        Ok(request)
    }
}

/// Signs every call made through it as one principal: a client for one
/// request's work ([`signed_as`]).
#[derive(Clone)]
pub struct SignedAs(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for SignedAs {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert(crate::assertion::METADATA_KEY, self.0.clone());
        Ok(request)
    }
}

/// A peer whose calls carry `claims`, signed with `key` once.
pub type SignedPeer = tonic::service::interceptor::InterceptedService<Peer, SignedAs>;

/// `peer`, with every call signed as `claims`; the peer's own credential is
/// then left out (see [`TraceContext`]).
pub fn signed_as(
    peer: Peer,
    key: &crate::assertion::AssertionKey,
    claims: &crate::assertion::Claims,
) -> SignedPeer {
    let value = key.sign(claims).parse().expect("a JWT is valid metadata");
    tonic::service::interceptor::InterceptedService::new(peer, SignedAs(value))
}

/// A channel to a peer service that carries trace context.
pub type Peer =
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, TraceContext>;

/// Wraps a channel so calls through it continue the caller's trace.
pub fn traced(channel: tonic::transport::Channel) -> Peer {
    tonic::service::interceptor::InterceptedService::new(channel, TraceContext::default())
}

/// Like [`traced`], and calls that carry no assertion of their own are
/// signed with `key` as `claims()` (made fresh for each call).
pub fn traced_as(
    channel: tonic::transport::Channel,
    key: crate::assertion::AssertionKey,
    claims: fn() -> crate::assertion::Claims,
) -> Peer {
    tonic::service::interceptor::InterceptedService::new(
        channel,
        TraceContext {
            credential: Some((key, claims)),
        },
    )
}

/// A tonic server that runs each RPC in a span continuing the caller's
/// trace and counts it in the service metrics.
pub fn server() -> tonic::transport::Server<
    tower::layer::util::Stack<crate::metrics::GrpcMetricsLayer, tower::layer::util::Identity>,
> {
    tonic::transport::Server::builder()
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .http2_keepalive_interval(Some(KEEPALIVE))
        .http2_keepalive_timeout(Some(KEEPALIVE))
        .trace_fn(crate::telemetry::server_span)
        .layer(crate::metrics::GrpcMetricsLayer)
}

/// A channel to a peer service that connects on first use, so a service can
/// start before its peers and recovers when they come back.
///
/// HTTP/2 keepalive pings notice a dead peer (a cut link drops packets and
/// sends no reset) within about two seconds; calls on that connection then
/// fail at once and the next call dials again, with a short connect
/// timeout, so callers fail fast while a peer is away and recover as soon
/// as it is back.
pub fn lazy_channel(addr: &str) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    Ok(tonic::transport::Endpoint::from_shared(addr.to_owned())?
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(15))
        .http2_keep_alive_interval(KEEPALIVE)
        .keep_alive_timeout(KEEPALIVE)
        .keep_alive_while_idle(true)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .connect_lazy())
}
