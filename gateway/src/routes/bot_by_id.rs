//! Bot routes that name the bot alone (`/api/bots/{bot_id}...`), the older
//! form of the workspace routes in [`super::bots`]: a bot lives in exactly
//! one workspace, so identity finds it from the bot.

use crate::error::ApiResult;
use crate::principal::Principal;
use crate::render;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use clickclack_proto::identity as pb;
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /api/bots/{bot_user_id}/tokens` → `{bot_tokens}`.
pub async fn tokens(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(bot_id): Path<String>,
) -> ApiResult<Json<Value>> {
    // An empty workspace means the bot's own (identity finds it).
    super::bots::tokens(State(state), principal, Path((String::new(), bot_id))).await
}

/// `POST /api/bots/{bot_user_id}/tokens {name?, scopes?}` → 201 `{bot_token}`.
pub async fn mint(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(bot_id): Path<String>,
    body: Json<super::bots::MintBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    super::bots::mint(State(state), principal, Path((String::new(), bot_id)), body).await
}

/// `DELETE /api/bots/{bot_user_id}` → `{deleted_bot: {id, display_name,
/// former_handle, deleted_at}}`: removes the bot from its workspace, its
/// tokens and command menu with it.
pub async fn remove(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(bot_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let removed = state
        .identity_as(&principal)
        .remove_bot(pb::RemoveBotRequest {
            workspace: String::new(),
            bot_user_id: bot_id,
            actor_user_id: Some(principal.user.id.clone()),
        })
        .await?
        .into_inner();
    let bot = render::require(removed.bot, "bot")?;
    Ok(Json(json!({
        "deleted_bot": {
            "id": bot.id,
            "display_name": bot.display_name,
            "former_handle": bot.handle,
            "deleted_at": clickclack_common::time::rfc3339(&chrono::Utc::now()),
        }
    })))
}
