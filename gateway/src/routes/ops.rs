//! Operations endpoints; they need no chat authentication.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;
use std::time::Duration;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;

/// How long `/readyz` waits for a peer before calling it unavailable.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Ready when identity answers SERVING (which it only does while its
/// database is reachable).
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let mut health = state.identity_health.clone();
    let check = health.check(HealthCheckRequest {
        service: clickclack_proto::IDENTITY_SERVICE_NAME.into(),
    });
    let ready = matches!(
        tokio::time::timeout(READINESS_TIMEOUT, check).await,
        Ok(Ok(response)) if response.get_ref().status() == ServingStatus::Serving
    );
    if ready {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable" })),
        )
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
