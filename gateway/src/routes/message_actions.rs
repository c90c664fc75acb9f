//! Interactive actions: pressing a button under a bot's message
//! (`POST /api/messages/{id}/actions/{action_id}`), and where the bot has
//! its presses delivered (`/api/workspaces/{id}/bots/{bot_id}/interactivity`).
//!
//! The gateway checks the presser can read the message and that the button
//! is on it; the webhooks service hands the press to the bot (its request
//! URL, or its socket as `action.invoked`) exactly as it does a slash
//! command, with a response token. The bot answers as it answers a
//! command, and may also edit the pressed message (`replace_original`).

use super::command_invocations::answer_invocation;
use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::render;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use clickclack_common::event_types;
use clickclack_common::wire;
use clickclack_proto::messaging as messaging_pb;
use clickclack_proto::webhooks as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// `POST /api/messages/{id}/actions/{action_id}` → 200 `{response_type,
/// text, invocation, message?, event?}` as a slash command's invocation;
/// 403 when the caller cannot read the message (the bot never hears of
/// it), 404 for a button the message does not have, 409 for a deleted
/// message, 502 when the bot failed to answer.
pub async fn press(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path((message_id, action_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let message = state
        .messaging_as(&principal)
        .get_message(messaging_pb::GetMessageRequest {
            message_id: message_id.clone(),
        })
        .await
        .map_err(|refusal| match refusal.code() {
            tonic::Code::NotFound | tonic::Code::PermissionDenied => {
                ApiError::forbidden("you cannot read this message, so you cannot press its buttons")
            }
            _ => refusal.into(),
        })?
        .into_inner()
        .message;
    let message = render::require(message, "message")?;
    if message.deleted_at.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "this message was deleted",
        ));
    }
    let Some(action) = message
        .actions
        .iter()
        .find(|action| action.id == action_id)
        .cloned()
    else {
        return Err(ApiError::not_found(format!(
            "this message has no action {action_id:?}"
        )));
    };
    let result = state
        .webhooks_as(&principal)
        .invoke_action(pb::InvokeActionRequest {
            workspace_id: message.workspace_id.clone(),
            bot_user_id: message.author_id.clone(),
            message_id: message.id.clone(),
            channel_id: message.channel_id.clone(),
            direct_conversation_id: message.direct_conversation_id.clone(),
            thread_root_id: message.thread_root_id.clone(),
            action: Some(action),
            response_url_base: state.public_url.clone().unwrap_or_default(),
        })
        .await?
        .into_inner();
    answer_invocation(&state, &principal, result, event_types::ACTION_INVOKED).await
}

/// How a bot takes its presses.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct InteractivityBody {
    /// `url` (default: presses are POSTed, signed, to `request_url`) or
    /// `socket` (they reach the bot as `action.invoked` events).
    #[serde(default)]
    delivery: Option<String>,
    /// The bot's request URL (https; http only where the operator allows).
    #[serde(default)]
    request_url: String,
}

fn interactivity_json(endpoint: Option<pb::SlashCommand>, secret: &str) -> Value {
    let Some(endpoint) = endpoint else {
        return Value::Null;
    };
    let mut value = wire::with_present(
        json!({
            "id": endpoint.id,
            "workspace_id": endpoint.workspace_id,
            "bot_user_id": endpoint.bot_user_id,
            "delivery": endpoint.delivery,
            "request_url": endpoint.callback_url,
            "created_at": endpoint.created_at,
        }),
        [
            ("created_by", &endpoint.created_by),
            ("revoked_at", &endpoint.revoked_at),
        ],
    );
    if !secret.is_empty() {
        value["signing_secret"] = json!(secret);
    }
    value
}

fn endpoint_of(principal: &Principal, bot_id: String) -> pb::InteractivityRef {
    pb::InteractivityRef {
        workspace_id: principal.workspace_id.clone(),
        bot_user_id: bot_id,
    }
}

/// The bot's live endpoint, if the caller may manage it.
async fn endpoint(
    state: &AppState,
    principal: &Principal,
    bot_id: String,
) -> ApiResult<pb::SlashCommand> {
    Ok(state
        .webhooks_as(principal)
        .get_interactivity(endpoint_of(principal, bot_id))
        .await?
        .into_inner())
}

/// `PUT /api/workspaces/{id}/bots/{bot_id}/interactivity` → `{interactivity}`
/// (with `signing_secret`, shown once, for `url` delivery). Replaces the
/// bot's endpoint: the one before stops at once.
pub async fn set(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path((_, bot_id)): Path<(String, String)>,
    Json(body): Json<InteractivityBody>,
) -> ApiResult<Json<Value>> {
    let set = state
        .webhooks_as(&principal)
        .set_interactivity(pb::SetInteractivityRequest {
            workspace_id: principal.workspace_id.clone(),
            bot_user_id: bot_id,
            delivery: body.delivery.unwrap_or_default(),
            request_url: body.request_url,
        })
        .await?
        .into_inner();
    Ok(Json(
        json!({ "interactivity": interactivity_json(set.command, &set.signing_secret) }),
    ))
}

/// `GET /api/workspaces/{id}/bots/{bot_id}/interactivity` → `{interactivity}`.
pub async fn get(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path((_, bot_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let endpoint = endpoint(&state, &principal, bot_id).await?;
    Ok(Json(
        json!({ "interactivity": interactivity_json(Some(endpoint), "") }),
    ))
}

/// `DELETE /api/workspaces/{id}/bots/{bot_id}/interactivity` →
/// `{interactivity}` (revoked): presses go over the socket again.
pub async fn remove(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path((_, bot_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let removed = state
        .webhooks_as(&principal)
        .remove_interactivity(endpoint_of(&principal, bot_id))
        .await?
        .into_inner();
    Ok(Json(
        json!({ "interactivity": interactivity_json(Some(removed), "") }),
    ))
}

/// `POST /api/workspaces/{id}/bots/{bot_id}/interactivity/rotate-secret` →
/// `{interactivity}` with the new `signing_secret`; the old one signs
/// beside it for 24 hours.
pub async fn rotate_secret(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path((_, bot_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let endpoint = endpoint(&state, &principal, bot_id).await?;
    let rotated = state
        .webhooks_as(&principal)
        .rotate_slash_command_secret(pb::SlashCommandRef { id: endpoint.id })
        .await?
        .into_inner();
    Ok(Json(json!({
        "interactivity": interactivity_json(rotated.command, &rotated.signing_secret),
    })))
}

/// `GET /api/workspaces/{id}/bots/{bot_id}/interactivity/invocations?limit=`
/// → `{invocations}`: the bot's presses, newest first.
pub async fn invocations(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path((_, bot_id)): Path<(String, String)>,
    Query(query): Query<super::command_invocations::ListQuery>,
) -> ApiResult<Json<Value>> {
    let endpoint = endpoint(&state, &principal, bot_id).await?;
    super::command_invocations::list_of(&state, &principal, endpoint.id, query).await
}
