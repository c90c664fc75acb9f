//! Cross-cutting HTTP behaviour applied once around every route:
//! correlation ids, the request span and log line, metrics, and making sure
//! every error body is `{"error": ...}` even when axum itself rejected the
//! request (405, 413, 415, ...).

use crate::state::AppState;
use axum::body::to_bytes;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;
use tracing::Instrument;

pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The request's correlation id, for handlers that pass it on.
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

/// Accepts a caller's id only when it matches `^[A-Za-z0-9._:-]{1,128}$`.
pub fn acceptable_correlation_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Runs inside routing so the matched route template can label metrics.
pub async fn expose_matched_path(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(matched);
    }
    response
}

pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let correlation_id = request
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| acceptable_correlation_id(value))
        .map(str::to_owned)
        .unwrap_or_else(clickclack_common::ids::new_ulid);
    request
        .extensions_mut()
        .insert(CorrelationId(correlation_id.clone()));

    let method = request.method().clone();
    // The path only (query strings are never logged), with any credential
    // in it masked.
    let path = crate::routes::loggable_path(request.uri().path()).into_owned();
    let span = tracing::info_span!(
        "http",
        %method,
        %path,
        correlation_id = %correlation_id,
        user_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let mut response = json_error_body(response).await;

    let elapsed = started.elapsed();
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| matched.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let status = response.status();
    state
        .metrics
        .http_requests
        .with_label_values(&[route.as_str(), method.as_str(), status.as_str()])
        .inc();
    state
        .metrics
        .http_latency
        .with_label_values(&[route.as_str(), method.as_str()])
        .observe(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            elapsed_ms = elapsed.as_millis() as u64,
            "request"
        )
    });

    if let Ok(value) = HeaderValue::from_str(&correlation_id) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    response
}

/// Rewrites a non-JSON error response into `{"error": ...}`.
async fn json_error_body(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = to_bytes(body, 64 * 1024)
        .await
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase());
    let text = clickclack_common::grpc::bounded(text);
    let mut rewritten = (status, axum::Json(serde_json::json!({ "error": text }))).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

#[cfg(test)]
mod tests {
    use super::acceptable_correlation_id;

    #[test]
    fn correlation_ids_follow_the_documented_pattern() {
        assert!(acceptable_correlation_id("req-1.2:3_x"));
        assert!(acceptable_correlation_id(&"a".repeat(128)));
        assert!(!acceptable_correlation_id(""));
        assert!(!acceptable_correlation_id(&"a".repeat(129)));
        assert!(!acceptable_correlation_id("has space"));
        assert!(!acceptable_correlation_id("semi;colon"));
    }
}
