//! Operations endpoints; they need no chat authentication.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use clickclack_common::grpc::Peer;
use serde_json::json;
use std::time::Duration;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long `/readyz` waits for a peer before calling it unavailable.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Ready when every peer answers SERVING (which a service only does while
/// its database is reachable).
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (identity, messaging, realtime) = tokio::join!(
        serving(
            state.identity_health.clone(),
            clickclack_proto::IDENTITY_SERVICE_NAME
        ),
        serving(
            state.messaging_health.clone(),
            clickclack_proto::MESSAGING_SERVICE_NAME
        ),
        serving(
            state.realtime_health.clone(),
            clickclack_proto::REALTIME_SERVICE_NAME
        ),
    );
    if identity && messaging && realtime {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable" })),
        )
    }
}

async fn serving(mut health: HealthClient<Peer>, service: &str) -> bool {
    let check = health.check(HealthCheckRequest {
        service: service.into(),
    });
    matches!(
        tokio::time::timeout(READINESS_TIMEOUT, check).await,
        Ok(Ok(response)) if response.get_ref().status() == ServingStatus::Serving
    )
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
