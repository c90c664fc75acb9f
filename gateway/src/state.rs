//! What every handler can reach: gRPC clients, the signing key, caches,
//! metrics.

use crate::auth::{AuthCache, Principal};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::users::UserDirectory;
use clickclack_common::assertion::AssertionKey;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use clickclack_proto::messaging::messaging_service_client::MessagingServiceClient;
use clickclack_proto::realtime::realtime_service_client::RealtimeServiceClient;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;

#[derive(Clone)]
pub struct AppState {
    pub identity: IdentityServiceClient<Channel>,
    pub identity_health: HealthClient<Channel>,
    pub messaging: MessagingServiceClient<Channel>,
    pub messaging_health: HealthClient<Channel>,
    pub realtime: RealtimeServiceClient<Channel>,
    pub realtime_health: HealthClient<Channel>,
    /// Open WebSockets on this gateway, and how many it accepts.
    pub sockets: Arc<AtomicUsize>,
    pub max_sockets: usize,
    pub assertions: AssertionKey,
    pub auth_cache: Arc<AuthCache>,
    pub users: Arc<UserDirectory>,
    pub metrics: Arc<Metrics>,
    pub upload_max_bytes: u64,
}

impl AppState {
    /// A messaging request carrying the principal's signed assertion.
    pub fn signed<T>(&self, principal: &Principal, message: T) -> tonic::Request<T> {
        self.assertions.request(&principal.claims(), message)
    }

    pub fn messaging(&self) -> MessagingServiceClient<Channel> {
        self.messaging.clone()
    }

    /// Resolves a workspace id or slug the caller named and checks the
    /// caller's token is bound to it (403 otherwise).
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
