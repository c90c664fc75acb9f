//! Direct messages (API.md §6).

use super::messages::{self, NewMessage, PageQuery, PostTarget};
use crate::error::{ApiError, ApiResult};
use crate::middleware::CorrelationId;
use crate::policy;
use crate::principal::Principal;
use crate::render;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use clickclack_proto::identity as identity_pb;
use clickclack_proto::messaging as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tonic::Code;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct OpenBody {
    #[serde(default)]
    workspace_id: String,
    member_ids: Vec<String>,
}

/// `POST /api/dms` → 201 `{conversation}`: find-or-create by member set.
pub async fn open(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Json(body): Json<OpenBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (workspace_id, principal) =
        policy::scope_to_workspace(&state, principal, &body.workspace_id).await?;
    if body.member_ids.len() > 64 {
        return Err(ApiError::bad_request(
            "a conversation has at most 32 members",
        ));
    }
    // Every member must belong to the workspace (identity knows who does);
    // members may be named by id or by handle.
    let mut member_ids = Vec::with_capacity(body.member_ids.len());
    for member in &body.member_ids {
        if member == &principal.user.id {
            member_ids.push(member.clone());
            continue;
        }
        let check = state
            .identity()
            .get_membership(identity_pb::GetMembershipRequest {
                workspace_id: workspace_id.clone(),
                user_id: member.clone(),
            })
            .await;
        match check {
            Ok(found) => {
                let user = render::require(found.into_inner().user, "member")?;
                member_ids.push(user.id);
            }
            Err(status) if status.code() == Code::NotFound && !member.starts_with("usr_") => {
                let shown: String = member.chars().take(64).collect();
                return Err(ApiError::not_found(format!(
                    "no member with handle {shown:?} in this workspace"
                )));
            }
            Err(status) if status.code() == Code::NotFound => {
                return Err(ApiError::bad_request(format!(
                    "{member} is not a member of this workspace"
                )));
            }
            Err(status) => return Err(status.into()),
        }
    }
    let reply = state
        .messaging_as(&principal)
        .open_conversation(pb::OpenConversationRequest { member_ids })
        .await?
        .into_inner();
    let conversation = render::conversation(
        &state,
        &render::require(reply.conversation, "conversation")?,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "conversation": conversation })),
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct WorkspaceQuery {
    /// Read by the policy layer, which scopes the request to it before the
    /// handler runs; declared here for the OpenAPI document.
    #[serde(default)]
    #[allow(dead_code)]
    workspace_id: String,
}

/// `GET /api/dms?workspace_id=` → `{conversations}`.
pub async fn list(
    State(state): State<AppState>,
    principal: Arc<Principal>,
) -> ApiResult<Json<Value>> {
    let conversations = state
        .messaging_as(&principal)
        .list_conversations(pb::ListConversationsRequest {})
        .await?
        .into_inner()
        .conversations;
    Ok(Json(
        json!({ "conversations": render::conversations(&state, &conversations).await? }),
    ))
}

/// `GET /api/dms/{id}` → `{conversation}`.
pub async fn get(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(conversation_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let conversation = state
        .messaging_as(&principal)
        .get_conversation(pb::GetConversationRequest { conversation_id })
        .await?
        .into_inner();
    conversation_reply(&state, &conversation).await
}

/// `POST /api/dms/{id}/messages` → 201 `{message, event}`.
pub async fn post(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Extension(correlation): Extension<CorrelationId>,
    Path(conversation_id): Path<String>,
    Json(body): Json<NewMessage>,
) -> ApiResult<Response> {
    messages::post(
        &state,
        &principal,
        &correlation,
        PostTarget::Conversation(conversation_id),
        body,
    )
    .await
}

/// `GET /api/dms/{id}/messages` → `{messages, ...}`.
pub async fn list_messages(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(conversation_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    messages::list(
        &state,
        &principal,
        PostTarget::Conversation(conversation_id),
        query,
    )
    .await
}

/// `DELETE /api/dms/{id}` → `{ok: true}`: hides the conversation from the
/// caller's list until its next message.
pub async fn hide(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(conversation_id): Path<String>,
) -> ApiResult<Json<Value>> {
    state
        .messaging_as(&principal)
        .hide_conversation(pb::GetConversationRequest { conversation_id })
        .await?;
    Ok(Json(json!({ "ok": true })))
}

/// `POST /api/dms/{id}/open` → `{conversation}`: shows a hidden DM again.
pub async fn show(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(conversation_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let conversation = state
        .messaging_as(&principal)
        .show_conversation(pb::GetConversationRequest { conversation_id })
        .await?
        .into_inner();
    conversation_reply(&state, &conversation).await
}

/// `{conversation}`, as `GET /api/dms/{id}` and `POST /api/dms/{id}/open`
/// answer.
async fn conversation_reply(
    state: &AppState,
    conversation: &pb::Conversation,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "conversation": render::conversation(state, conversation).await? }),
    ))
}
