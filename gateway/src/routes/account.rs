//! What people do for themselves (API.md §2, §3): their profile, the
//! workspaces they found and run, invites and the member list. Human
//! sessions only: a bot token gets 403 here.

use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use clickclack_common::roles::Role;
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ProfileBody {
    display_name: Option<String>,
    handle: Option<String>,
    avatar_url: Option<String>,
}

/// `PATCH /api/me {display_name?, handle?, avatar_url?}` → `{user}`.
pub async fn update_me(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Json(body): Json<ProfileBody>,
) -> ApiResult<Json<Value>> {
    let user = state
        .identity_as(&principal)
        .update_profile(pb::UpdateProfileRequest {
            display_name: body.display_name,
            handle: body.handle,
            avatar_url: body.avatar_url,
        })
        .await?
        .into_inner();
    state.users.forget(&user.id);
    Ok(Json(json!({ "user": wire::User::from(user) })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct NewWorkspace {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
}

/// `POST /api/workspaces {name, slug?}` → 201 `{workspace}`: the caller
/// owns it, and it starts with `#general`.
pub async fn create_workspace(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Json(body): Json<NewWorkspace>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let workspace = state
        .identity_as(&principal)
        .create_workspace(pb::CreateWorkspaceRequest {
            name: body.name,
            slug: body.slug,
        })
        .await?
        .into_inner();
    // #general is messaging's; the new owner's assertion now names the
    // workspace, so messaging places the channel there.
    let mut claims = principal.claims();
    claims.wsp = workspace.id.clone();
    claims.role = Role::Owner.as_str().into();
    state
        .messaging()
        .create_channel(
            state
                .assertions
                .request(&claims, clickclack_proto::general_channel_request()),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "workspace": wire::Workspace::from(workspace) })),
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct WorkspaceChanges {
    name: Option<String>,
    slug: Option<String>,
    icon_url: Option<String>,
}

/// `PATCH /api/workspaces/{id} {name?, slug?, icon_url?}` → `{workspace}`
/// (owners and moderators).
pub async fn update_workspace(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(workspace): Path<String>,
    Json(body): Json<WorkspaceChanges>,
) -> ApiResult<Json<Value>> {
    let updated = state
        .identity_as(&principal)
        .update_workspace(pb::UpdateWorkspaceRequest {
            workspace,
            name: body.name,
            icon_url: body.icon_url,
            slug: body.slug,
        })
        .await?
        .into_inner();
    Ok(Json(json!({
        "workspace": wire::Workspace::with_role(updated, Some(principal.role.clone()))
    })))
}

/// `DELETE /api/workspaces/{id}` → `{workspace}` (owners): a soft delete;
/// every token and session scoped to it stops at once.
pub async fn delete_workspace(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(workspace): Path<String>,
) -> ApiResult<Json<Value>> {
    let deleted = state
        .identity_as(&principal)
        .delete_workspace(pb::DeleteWorkspaceRequest { workspace })
        .await?
        .into_inner();
    Ok(Json(json!({ "workspace": wire::Workspace::from(deleted) })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct Transfer {
    #[serde(default)]
    user_id: String,
}

/// `POST /api/workspaces/{id}/transfer-ownership {user_id}` → `{workspace}`.
pub async fn transfer_ownership(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(workspace): Path<String>,
    Json(body): Json<Transfer>,
) -> ApiResult<Json<Value>> {
    if body.user_id.trim().is_empty() {
        return Err(ApiError::bad_request("user_id is required"));
    }
    let moved = state
        .identity_as(&principal)
        .transfer_ownership(pb::TransferOwnershipRequest {
            workspace,
            user_id: body.user_id,
        })
        .await?
        .into_inner();
    Ok(Json(json!({ "workspace": wire::Workspace::from(moved) })))
}

/// `GET /api/workspaces/{id}/members` → `{members: [{user, role, joined_at}]}`.
pub async fn members(
    State(state): State<AppState>,
    principal: Arc<Principal>,
) -> ApiResult<Json<Value>> {
    // The policy layer scoped the principal to the workspace in the path.
    let workspace_id = principal.workspace_id.clone();
    let list = state
        .identity_as(&principal)
        .list_members(pb::ListMembersRequest {
            workspace: workspace_id,
        })
        .await?
        .into_inner();
    let members: Vec<Value> = list
        .members
        .into_iter()
        .filter_map(|member| {
            let user = member.user.map(wire::User::from)?;
            Some(json!({ "user": user, "role": member.role, "joined_at": member.joined_at }))
        })
        .collect();
    Ok(Json(json!({ "members": members })))
}

/// `POST /api/workspaces/{id}/invites` → 201 `{invite: {id, url, expires_at}}`:
/// a one-time link (owners and moderators).
pub async fn create_invite(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    headers: HeaderMap,
    Path(workspace): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let invite = state
        .identity_as(&principal)
        .create_invite(pb::CreateInviteRequest { workspace })
        .await?
        .into_inner();
    let url = format!(
        "{}/?invite={}",
        crate::routes::sessions::link_base(&state, &headers),
        invite.token
    );
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "invite": {
                "id": invite.id,
                "url": url,
                "token": invite.token,
                "workspace_id": invite.workspace_id,
                "expires_at": invite.expires_at,
            }
        })),
    ))
}

/// `POST /api/invites/{token}/accept` → `{workspace}`: the signed-in human
/// joins as a member.
pub async fn accept_invite(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(token): Path<String>,
) -> ApiResult<Json<Value>> {
    let workspace = state
        .identity_as(&principal)
        .accept_invite(pb::AcceptInviteRequest { token })
        .await?
        .into_inner();
    Ok(Json(
        json!({ "workspace": wire::Workspace::from(workspace) }),
    ))
}
