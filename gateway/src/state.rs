//! What every handler can reach: gRPC clients, the signing key, caches,
//! metrics.

use crate::auth_cache::AuthCache;
use crate::metrics::Metrics;
use crate::principal::Principal;
use crate::users::UserDirectory;
use clickclack_common::assertion::AssertionKey;
use clickclack_common::grpc::{Peer, SignedPeer, signed_as};
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use clickclack_proto::messaging::messaging_service_client::MessagingServiceClient;
use clickclack_proto::realtime::realtime_service_client::RealtimeServiceClient;
use clickclack_proto::webhooks::webhooks_service_client::WebhooksServiceClient;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic_health::pb::health_client::HealthClient;

/// What handlers and layers are given: one reference to the gateway's
/// [`GatewayState`]. Every layer and extractor clones it per request, so a
/// clone must be a reference count, not a copy of clients and keys.
#[derive(Clone)]
pub struct AppState(Arc<GatewayState>);

impl AppState {
    pub fn new(state: GatewayState) -> AppState {
        AppState(Arc::new(state))
    }
}

impl std::ops::Deref for AppState {
    type Target = GatewayState;

    fn deref(&self) -> &GatewayState {
        &self.0
    }
}

pub struct GatewayState {
    /// The connections to identity and messaging; calls go through the
    /// clients [`GatewayState::identity`] and [`GatewayState::messaging`] make
    /// (signed as the gateway) or their `_as` forms (signed as a principal).
    pub identity_peer: Peer,
    pub identity_health: HealthClient<Peer>,
    pub messaging_peer: Peer,
    pub messaging_health: HealthClient<Peer>,
    pub realtime: RealtimeServiceClient<Peer>,
    pub realtime_health: HealthClient<Peer>,
    /// Event subscriptions; calls go through [`GatewayState::webhooks_as`]
    /// (or, signed as the gateway, [`GatewayState::webhooks`]).
    pub webhooks_peer: Peer,
    /// Open WebSockets on this gateway, and how many it accepts.
    pub sockets: Arc<AtomicUsize>,
    pub max_sockets: usize,
    pub assertions: AssertionKey,
    pub auth_cache: Arc<AuthCache>,
    pub users: Arc<UserDirectory>,
    pub metrics: Arc<Metrics>,
    pub upload_max_bytes: u64,
    /// Cancelled when the gateway starts shutting down: every open
    /// WebSocket then closes with 1001.
    pub shutdown: CancellationToken,
    /// The tasks serving open WebSockets, so shutdown can wait for them.
    pub socket_tasks: TaskTracker,
    /// Rate-limit buckets and the shedding settings.
    pub rate_limits: Arc<crate::limits::RateLimits>,
    pub limits: crate::limits::LimitsConfig,
    /// Which workspace a channel, message, DM or upload lives in. Resources
    /// never move, so entries never go stale.
    pub locations: moka::sync::Cache<String, String>,
    /// Where people and runtimes reach this deployment
    /// (`CLICKCLACK_PUBLIC_URL`, no trailing slash), when configured.
    pub public_url: Option<String>,
    /// How magic links are delivered.
    pub mailer: Arc<crate::mail::Mailer>,
    /// The live event log, followed once per gateway and fanned out to
    /// this gateway's sockets.
    pub live: Arc<crate::live::LiveFeed>,
}

impl GatewayState {
    /// A messaging request carrying the principal's signed assertion.
    pub fn signed<T>(&self, principal: &Principal, message: T) -> tonic::Request<T> {
        self.assertions.request(&principal.claims(), message)
    }

    /// A request carrying `claims`' signed assertion (a bot answering a
    /// slash command acts without a token of it).
    pub fn signed_claims<T>(
        &self,
        claims: &clickclack_common::assertion::Claims,
        message: T,
    ) -> tonic::Request<T> {
        self.assertions.request(claims, message)
    }

    /// Identity, calls signed as the gateway itself.
    pub fn identity(&self) -> IdentityServiceClient<Peer> {
        IdentityServiceClient::new(self.identity_peer.clone())
    }

    /// Messaging, calls signed as the gateway itself.
    pub fn messaging(&self) -> MessagingServiceClient<Peer> {
        messaging_client(self.messaging_peer.clone())
    }

    /// Identity, every call signed as `principal`.
    pub fn identity_as(&self, principal: &Principal) -> IdentityServiceClient<SignedPeer> {
        IdentityServiceClient::new(self.signed_as(&self.identity_peer, principal))
    }

    /// Messaging, every call signed as `principal`.
    pub fn messaging_as(&self, principal: &Principal) -> MessagingServiceClient<SignedPeer> {
        messaging_client(self.signed_as(&self.messaging_peer, principal))
    }

    /// Webhooks, calls signed as the gateway itself.
    pub fn webhooks(&self) -> WebhooksServiceClient<Peer> {
        WebhooksServiceClient::new(self.webhooks_peer.clone())
    }

    /// Webhooks, every call signed as `principal`.
    pub fn webhooks_as(&self, principal: &Principal) -> WebhooksServiceClient<SignedPeer> {
        WebhooksServiceClient::new(self.signed_as(&self.webhooks_peer, principal))
    }

    /// Messaging, every call signed as `claims` (an incoming webhook posts
    /// as its bot without a token of it).
    pub fn messaging_signed(
        &self,
        claims: &clickclack_common::assertion::Claims,
    ) -> MessagingServiceClient<SignedPeer> {
        messaging_client(signed_as(
            self.messaging_peer.clone(),
            &self.assertions,
            claims,
        ))
    }

    fn signed_as(&self, peer: &Peer, principal: &Principal) -> SignedPeer {
        signed_as(peer.clone(), &self.assertions, &principal.claims())
    }
}

/// A messaging client whose messages fit the largest upload.
fn messaging_client<T>(service: T) -> MessagingServiceClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    MessagingServiceClient::new(service)
        .max_decoding_message_size(crate::MAX_GRPC_MESSAGE_BYTES)
        .max_encoding_message_size(crate::MAX_GRPC_MESSAGE_BYTES)
}
