use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use clickclack_common::scopes::Scope;
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use serde_json::{Value, json};
use std::sync::Arc;

/// A bot's role in the workspace it belongs to.
const BOT_ROLE: &str = "bot";

/// `GET /api/workspaces` → `{workspaces}`: for a bot token, exactly its own.
pub async fn list(
    State(state): State<AppState>,
    principal: Arc<Principal>,
) -> ApiResult<Json<Value>> {
    principal.require(Scope::WorkspacesRead)?;
    let workspace = fetch(&state, &principal.workspace_id).await?;
    Ok(Json(json!({
        "workspaces": [wire::Workspace::with_role(workspace, Some(BOT_ROLE.into()))]
    })))
}

/// `GET /api/workspaces/{id}` → `{workspace}`; `{id}` may be the slug.
pub async fn get(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(key): Path<String>,
) -> ApiResult<Json<Value>> {
    principal.require(Scope::WorkspacesRead)?;
    let workspace = fetch(&state, &key).await?;
    principal.require_workspace(&workspace.id)?;
    Ok(Json(json!({
        "workspace": wire::Workspace::with_role(workspace, Some(BOT_ROLE.into()))
    })))
}

async fn fetch(state: &AppState, key: &str) -> Result<pb::Workspace, ApiError> {
    let request = pb::GetWorkspaceRequest {
        id_or_slug: key.to_owned(),
    };
    Ok(state
        .identity
        .clone()
        .get_workspace(request)
        .await?
        .into_inner())
}
