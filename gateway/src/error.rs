//! HTTP errors: every non-2xx answer is `{"error": "<text>"}` (API.md §0).
//! gRPC statuses from the services are mapped here, once.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use tonic::Code;

/// Why the gateway could not start, or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid internal key: {0}")]
    Key(#[from] clickclack_common::assertion::AssertionError),
    #[error(transparent)]
    DevKey(#[from] clickclack_common::caller_policy::DevKeyRefused),
    #[error("invalid service address: {0}")]
    Peer(#[from] tonic::transport::Error),
    /// A setting that cannot be used; the text names the setting, never a
    /// secret it may hold.
    #[error("{0}")]
    Setting(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("serving HTTP failed: {0}")]
    Serve(#[from] std::io::Error),
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    /// The message is cut to 256 bytes: error texts may quote what a
    /// client sent (a method, an id, a name), and must not echo it whole.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: clickclack_common::grpc::bounded(message.into()),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        let code = match status.code() {
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => StatusCode::CONFLICT,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unavailable => {
                tracing::warn!(error = %status.message(), "backend service unavailable");
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "a backend service is unavailable; try again shortly",
                );
            }
            Code::DeadlineExceeded | Code::Cancelled => {
                return ApiError::new(StatusCode::GATEWAY_TIMEOUT, "a backend service timed out");
            }
            _ => {
                tracing::error!(code = ?status.code(), error = %status.message(), "backend error");
                return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
            }
        };
        ApiError::new(code, status.message())
    }
}

/// How long a client should wait before retrying after a 503 or 504.
const RETRY_AFTER_SECONDS: &str = "1";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        // A backend that is away or slow: retry soon. For a write the
        // outcome is unknown, so retry with the same nonce (README).
        if matches!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
        ) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
