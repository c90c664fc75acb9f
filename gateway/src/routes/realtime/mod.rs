//! Realtime (API.md §8): pull here; the WebSocket in [`socket`]; ephemeral
//! publish in [`ephemeral`]; the catalogue of event types in
//! [`event_types`].

mod ephemeral;
mod event_types;
mod socket;

pub use ephemeral::{EphemeralBody, ephemeral};
pub use event_types::event_types;
pub use socket::{SocketQuery, socket};

use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::render;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use clickclack_proto::realtime as rt;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tonic::Code;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct EventsQuery {
    /// Read by the policy layer, which scopes the request to it before the
    /// handler runs; declared here for the OpenAPI document.
    #[serde(default)]
    #[allow(dead_code)]
    workspace_id: String,
    #[serde(default)]
    after_cursor: String,
    limit: Option<u32>,
    #[serde(default)]
    include_tail: bool,
}

/// `GET /api/realtime/events` → `{events, tail_cursor?}`.
pub async fn events(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Query(query): Query<EventsQuery>,
) -> ApiResult<Json<Value>> {
    let limit = match query.limit {
        None => 0,
        Some(n) if (1..=500).contains(&n) => n,
        Some(_) => return Err(ApiError::bad_request("limit must be between 1 and 500")),
    };
    let list = state
        .realtime
        .clone()
        .list(state.signed(
            &principal,
            rt::ListRequest {
                after_cursor: query.after_cursor,
                limit,
                include_tail: query.include_tail,
            },
        ))
        .await
        .map_err(|status| match status.code() {
            Code::FailedPrecondition => ApiError::bad_request(status.message()),
            _ => status.into(),
        })?
        .into_inner();
    let mut body = json!({ "events": list.events.iter().map(render::event).collect::<Vec<_>>() });
    if let Some(tail) = list.tail_cursor {
        body["tail_cursor"] = json!(tail);
    }
    Ok(Json(body))
}
