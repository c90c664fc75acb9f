use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /api/workspaces` → `{workspaces}`: for a bot token, exactly its
/// own; for a session, every workspace its human belongs to.
pub async fn list(
    State(state): State<AppState>,
    principal: Arc<Principal>,
) -> ApiResult<Json<Value>> {
    if principal.is_session() {
        let list = state
            .identity()
            .list_workspaces(pb::ListWorkspacesRequest {
                member_user_id: Some(principal.user.id.clone()),
            })
            .await?
            .into_inner();
        let workspaces: Vec<wire::Workspace> = list
            .workspaces
            .into_iter()
            .map(wire::Workspace::from)
            .collect();
        return Ok(Json(json!({ "workspaces": workspaces })));
    }
    let workspace = fetch(&state, &principal.workspace_id).await?;
    Ok(Json(json!({
        "workspaces": [wire::Workspace::with_role(workspace, Some(principal.role.clone()))]
    })))
}

/// `GET /api/workspaces/{id}` → `{workspace}`; `{id}` may be the slug.
pub async fn get(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(key): Path<String>,
) -> ApiResult<Json<Value>> {
    let workspace = fetch(&state, &key).await?;
    principal.require_workspace(&workspace.id)?;
    Ok(Json(json!({
        "workspace": wire::Workspace::with_role(workspace, Some(principal.role.clone()))
    })))
}

pub async fn fetch(state: &AppState, key: &str) -> Result<pb::Workspace, ApiError> {
    let request = pb::GetWorkspaceRequest {
        id_or_slug: key.to_owned(),
    };
    Ok(state.identity().get_workspace(request).await?.into_inner())
}
