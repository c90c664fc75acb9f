//! What every handler can reach: gRPC clients, the signing key, caches,
//! metrics.

use crate::auth::Principal;
use crate::auth_cache::AuthCache;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::users::UserDirectory;
use clickclack_common::assertion::AssertionKey;
use clickclack_common::grpc::Peer;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use clickclack_proto::messaging::messaging_service_client::MessagingServiceClient;
use clickclack_proto::realtime::realtime_service_client::RealtimeServiceClient;
use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic_health::pb::health_client::HealthClient;

#[derive(Clone)]
pub struct AppState {
    pub identity: IdentityServiceClient<Peer>,
    pub identity_health: HealthClient<Peer>,
    pub messaging: MessagingServiceClient<Peer>,
    pub messaging_health: HealthClient<Peer>,
    pub realtime: RealtimeServiceClient<Peer>,
    pub realtime_health: HealthClient<Peer>,
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
    pub locations: Arc<Mutex<HashMap<String, String>>>,
    /// Where people and runtimes reach this deployment
    /// (`CLICKCLACK_PUBLIC_URL`, no trailing slash), when configured.
    pub public_url: Option<String>,
    /// How magic links are delivered.
    pub mailer: Arc<crate::mail::Mailer>,
    /// The live event log, followed once per gateway and fanned out to
    /// this gateway's sockets.
    pub live: Arc<crate::live::LiveFeed>,
}

/// The location cache stops growing here (it is then simply cleared).
const LOCATIONS_LIMIT: usize = 100_000;

impl AppState {
    /// A messaging request carrying the principal's signed assertion.
    pub fn signed<T>(&self, principal: &Principal, message: T) -> tonic::Request<T> {
        self.assertions.request(&principal.claims(), message)
    }

    pub fn messaging(&self) -> MessagingServiceClient<Peer> {
        self.messaging.clone()
    }

    /// The workspace a resource lives in (404 when unknown).
    pub async fn locate(&self, id: &str) -> Result<String, ApiError> {
        if let Some(found) = self.locations.lock().expect("locations lock").get(id) {
            return Ok(found.clone());
        }
        // The gateway asks as itself: the answer is a workspace id, and the
        // real call is membership-checked after it.
        let request = clickclack_proto::messaging::LocateResourceRequest { id: id.to_owned() };
        let found = self
            .messaging()
            .locate_resource(request)
            .await?
            .into_inner()
            .workspace_id;
        let mut locations = self.locations.lock().expect("locations lock");
        if locations.len() >= LOCATIONS_LIMIT {
            locations.clear();
        }
        locations.insert(id.to_owned(), found.clone());
        Ok(found)
    }

    /// Resolves a workspace id or slug the caller named and checks the
    /// caller may act there: a bot token must be bound to it (403
    /// otherwise); a session is re-scoped to it, which checks membership.
    /// Returns the workspace id and the principal to forward.
    pub async fn scope_to_workspace(
        &self,
        principal: Arc<Principal>,
        key: &str,
    ) -> Result<(String, Arc<Principal>), ApiError> {
        if key.is_empty() {
            return Err(ApiError::bad_request("workspace_id is required"));
        }
        let principal = crate::auth::for_workspace(self, principal, key).await?;
        // A session scoped to `key` already carries its resolved id.
        let workspace_id = if principal.is_session() {
            principal.workspace_id.clone()
        } else {
            self.caller_workspace(&principal, key).await?
        };
        Ok((workspace_id, principal))
    }

    /// Resolves a workspace id or slug the caller named and checks the
    /// caller's principal is scoped to it (403 otherwise).
    pub async fn caller_workspace(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<String, ApiError> {
        if key.is_empty() {
            return Err(ApiError::bad_request("workspace_id is required"));
        }
        if key == principal.workspace_id {
            return Ok(key.to_owned());
        }
        let workspace = self
            .identity
            .clone()
            .get_workspace(clickclack_proto::identity::GetWorkspaceRequest {
                id_or_slug: key.to_owned(),
            })
            .await?
            .into_inner();
        principal.require_workspace(&workspace.id)?;
        Ok(workspace.id)
    }
}
