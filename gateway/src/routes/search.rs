//! Search (API.md §7).

use crate::error::ApiResult;
use crate::principal::Principal;
use crate::render;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use clickclack_proto::messaging as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct SearchQuery {
    /// Read by the policy layer, which scopes the request to it before the
    /// handler runs; declared here for the OpenAPI document.
    #[serde(default)]
    #[allow(dead_code)]
    workspace_id: String,
    #[serde(default)]
    q: String,
    channel_id: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /api/search?workspace_id=&q=&channel_id=&limit=` → `{results, next_cursor}`.
pub async fn search(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Query(query): Query<SearchQuery>,
) -> ApiResult<Json<Value>> {
    if query.limit == Some(0) {
        return Err(crate::error::ApiError::bad_request(
            "limit must be between 1 and 100",
        ));
    }
    let found = state
        .messaging_as(&principal)
        .search(pb::SearchRequest {
            query: query.q,
            channel_id: query.channel_id.filter(|c| !c.is_empty()),
            limit: query.limit.unwrap_or(0),
            cursor: query.cursor,
        })
        .await?
        .into_inner();
    let messages: Vec<pb::Message> = found
        .results
        .iter()
        .filter_map(|hit| hit.message.clone())
        .collect();
    let rendered = render::messages(&state, &messages).await?;
    let results: Vec<Value> = found
        .results
        .iter()
        .zip(rendered)
        .map(|(hit, message)| json!({ "message": message, "rank": hit.rank, "snippet": hit.snippet }))
        .collect();
    let mut answer = json!({ "results": results });
    // Absent on the last page: unset fields are omitted, never null.
    if let Some(cursor) = found.next_cursor {
        answer["next_cursor"] = json!(cursor);
    }
    Ok(Json(answer))
}
