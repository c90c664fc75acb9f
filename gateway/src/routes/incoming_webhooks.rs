//! Incoming webhooks: managing them (like event subscriptions, through
//! the webhooks service) and the URL itself, `POST /api/hooks/{id}/{secret}`,
//! which posts into the hook's channel as its bot.

use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::render;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use clickclack_common::assertion::Claims;
use clickclack_common::scopes::Scope;
use clickclack_common::wire;
use clickclack_proto::messaging as messaging_pb;
use clickclack_proto::webhooks as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A hook as clients read it; with its secret, also where to post
/// (`path`, and `url` when the public URL is configured).
fn hook_json(state: &AppState, hook: Option<pb::IncomingHook>, secret: Option<&str>) -> Value {
    let Some(hook) = hook else {
        return Value::Null;
    };
    let mut value = wire::incoming_hook(&hook);
    if let Some(secret) = secret {
        let path = wire::incoming_hook_path(&hook.id, secret);
        if let Some(public) = &state.public_url {
            value["url"] = json!(format!("{public}{path}"));
        }
        value["path"] = json!(path);
    }
    value
}

/// `GET /api/workspaces/{id}/incoming-webhooks` → `{incoming_webhooks}`.
pub async fn list(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Query(query): Query<super::BotFilter>,
) -> ApiResult<Json<Value>> {
    let list = state
        .webhooks_as(&principal)
        .list_incoming_hooks(pb::ListIncomingHooksRequest {
            workspace_id: principal.workspace_id.clone(),
            bot_user_id: query.bot(),
        })
        .await?
        .into_inner();
    let hooks: Vec<Value> = list
        .hooks
        .into_iter()
        .map(|hook| hook_json(&state, Some(hook), None))
        .collect();
    Ok(Json(json!({ "incoming_webhooks": hooks })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct CreateBody {
    /// The channel it posts into.
    channel_id: String,
    /// The bot it posts as (a bot caller: itself).
    #[serde(default)]
    bot_user_id: Option<String>,
    /// A label, e.g. the system that will call it.
    name: String,
}

/// `POST /api/workspaces/{id}/incoming-webhooks` → 201 `{incoming_webhook}`
/// with `path` (and `url` when the public URL is configured), shown once.
pub async fn create(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Json(body): Json<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = state
        .webhooks_as(&principal)
        .create_incoming_hook(pb::CreateIncomingHookRequest {
            workspace_id: principal.workspace_id.clone(),
            channel_id: body.channel_id,
            bot_user_id: body.bot_user_id.unwrap_or_default(),
            name: body.name,
        })
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "incoming_webhook": hook_json(&state, created.hook, Some(&created.secret)) })),
    ))
}

/// `POST /api/incoming-webhooks/{id}/revoke` → `{incoming_webhook}`.
pub async fn revoke(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let revoked = state
        .webhooks_as(&principal)
        .revoke_incoming_hook(pb::IncomingHookRef { id })
        .await?
        .into_inner();
    Ok(Json(
        json!({ "incoming_webhook": hook_json(&state, Some(revoked), None) }),
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct PostBody {
    /// The message (Slack's and Mattermost's field).
    #[serde(default)]
    text: Option<String>,
    /// The message (ClickClack's field), when `text` is not given.
    #[serde(default)]
    body: Option<String>,
}

/// `POST /api/hooks/{id}/{secret} {text | body}` → 201 `{message}`: posts
/// as the hook's bot. An unknown, revoked or wrong URL, or one whose bot
/// could no longer post, is 404 whichever it was.
pub async fn post(
    State(state): State<AppState>,
    Path((id, secret)): Path<(String, String)>,
    Json(body): Json<PostBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let text = body
        .text
        .or(body.body)
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("text (or body) is required"))?;
    let hook = state
        .webhooks()
        .resolve_incoming_hook(pb::ResolveIncomingHookRequest { id, secret })
        .await?
        .into_inner();
    let scopes: BTreeSet<Scope> = [
        Scope::MessagesWrite,
        Scope::MessagesRead,
        Scope::ChannelsRead,
    ]
    .into();
    let as_bot = Claims::bot(&hook.bot_user_id, &hook.workspace_id, &scopes);
    let reply = state
        .messaging_signed(&as_bot)
        .post_message(messaging_pb::PostMessageRequest {
            channel_id: Some(hook.channel_id),
            body: text,
            ..Default::default()
        })
        .await?
        .into_inner();
    let message = render::message(&state, &render::require(reply.message, "message")?).await?;
    Ok((StatusCode::CREATED, Json(json!({ "message": message }))))
}
