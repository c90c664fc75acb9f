//! HTTP routes, one module per area of API.md.

pub mod account;
pub mod bots;
pub mod channels;
pub mod dms;
pub mod me;
pub mod messages;
pub mod ops;
pub mod realtime;
pub mod search;
pub mod sessions;
pub mod uploads;
pub mod web;
pub mod workspaces;

use crate::error::ApiError;
use axum::http::{Method, Uri};

/// Unknown routes answer 404 JSON, never HTML.
pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}
