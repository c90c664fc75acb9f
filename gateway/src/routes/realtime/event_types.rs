//! `GET /api/event-types`: the catalogue of every event a client can
//! receive, durable or ephemeral (API.md §8).

use crate::error::ApiResult;
use crate::principal::Principal;
use axum::Json;
use clickclack_common::event_types::EVENT_TYPES;
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /api/event-types` → `{event_types: [{type, durable, description}]}`.
/// Any signed-in caller may read it.
pub async fn event_types(_principal: Arc<Principal>) -> ApiResult<Json<Value>> {
    let types: Vec<Value> = EVENT_TYPES
        .iter()
        .map(|(kind, durable, description)| {
            json!({ "type": kind, "durable": durable, "description": description })
        })
        .collect();
    Ok(Json(json!({ "event_types": types })))
}
