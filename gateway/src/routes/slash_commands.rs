//! Slash commands (upstream's `slashCommands.*`): the workspace's registry
//! of `/name`s and the bot request URLs that answer them, kept by the
//! webhooks service. The signing secret is in the answer only when it was
//! just made (create, rotate).

use crate::error::ApiResult;
use crate::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use clickclack_common::wire;
use clickclack_proto::webhooks as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

fn command_json(command: Option<pb::SlashCommand>, secret: Option<&str>) -> Value {
    let Some(command) = command else {
        return Value::Null;
    };
    let mut value = wire::slash_command(&command);
    if let Some(secret) = secret {
        value["signing_secret"] = json!(secret);
    }
    value
}

/// `GET /api/workspaces/{id}/slash-commands` → `{slash_commands}`.
pub async fn list(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Query(query): Query<super::BotFilter>,
) -> ApiResult<Json<Value>> {
    let list = state
        .webhooks_as(&principal)
        .list_slash_commands(pb::ListSlashCommandsRequest {
            workspace_id: principal.workspace_id.clone(),
            bot_user_id: query.bot(),
        })
        .await?
        .into_inner();
    let commands: Vec<Value> = list
        .commands
        .into_iter()
        .map(|command| command_json(Some(command), None))
        .collect();
    Ok(Json(json!({ "slash_commands": commands })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct CreateBody {
    /// `deploy` or `/deploy`: lower-cased, stored with its `/`.
    command: String,
    /// The bot's request URL (https; http only where the operator allows);
    /// left out for a socket command.
    #[serde(default)]
    callback_url: String,
    /// `url` (default: invocations are POSTed to `callback_url`) or
    /// `socket` (they reach the bot as `command.invoked` events).
    #[serde(default)]
    delivery: Option<String>,
    /// The bot that answers it (a bot caller: itself).
    #[serde(default)]
    bot_user_id: Option<String>,
    /// Shown in the `/` menu (at most 500 characters).
    #[serde(default)]
    description: Option<String>,
    /// Apps are not built yet: any value is refused (400).
    #[serde(default)]
    app_installation_id: Option<String>,
}

/// `POST /api/workspaces/{id}/slash-commands` → 201 `{slash_command}` with
/// `signing_secret`, shown once.
pub async fn create(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Json(body): Json<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    super::event_subscriptions::no_app_installation(body.app_installation_id.as_deref())?;
    let created = state
        .webhooks_as(&principal)
        .create_slash_command(pb::CreateSlashCommandRequest {
            workspace_id: principal.workspace_id.clone(),
            command: body.command,
            description: body.description.unwrap_or_default(),
            callback_url: body.callback_url,
            bot_user_id: body.bot_user_id.unwrap_or_default(),
            delivery: body.delivery.unwrap_or_default(),
        })
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "slash_command": command_json(created.command, Some(&created.signing_secret)),
        })),
    ))
}

/// `POST /api/slash-commands/{id}/revoke` → `{slash_command}`.
pub async fn revoke(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let revoked = state
        .webhooks_as(&principal)
        .revoke_slash_command(pb::SlashCommandRef { id })
        .await?
        .into_inner();
    Ok(Json(
        json!({ "slash_command": command_json(Some(revoked), None) }),
    ))
}

/// `POST /api/slash-commands/{id}/rotate-secret` → `{slash_command}` with
/// the new `signing_secret`, shown once; the old one signs for 24 hours.
pub async fn rotate_secret(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let rotated = state
        .webhooks_as(&principal)
        .rotate_slash_command_secret(pb::SlashCommandRef { id })
        .await?
        .into_inner();
    Ok(Json(json!({
        "slash_command": command_json(rotated.command, Some(&rotated.signing_secret)),
    })))
}
