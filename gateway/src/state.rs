//! What every handler can reach: gRPC clients, the auth cache, metrics.

use crate::auth::AuthCache;
use crate::metrics::Metrics;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use std::sync::Arc;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;

#[derive(Clone)]
pub struct AppState {
    pub identity: IdentityServiceClient<Channel>,
    pub identity_health: HealthClient<Channel>,
    pub auth_cache: Arc<AuthCache>,
    pub metrics: Arc<Metrics>,
}
