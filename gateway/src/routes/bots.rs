//! Bot management (API.md §10): human sessions install, inspect, rotate and
//! remove bots; bots publish their command menus. Who may do what is
//! identity's rule; the gateway only insists on a human session and names
//! the acting human.

use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// A freshly minted token: its metadata plus the raw value, shown once.
fn minted(token: Option<pb::BotToken>, raw: String) -> Value {
    let mut value = json!(token.map(wire::BotToken::from));
    if let Some(object) = value.as_object_mut() {
        object.insert("token".into(), json!(raw));
    }
    value
}

/// `scopes` may be an array or a comma-separated string (API.md §10);
/// identity splits and expands either form.
fn scopes_from(value: &Option<Value>) -> Result<Vec<String>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(list)) => Ok(vec![list.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(|s| s.trim().to_owned())
                    .ok_or_else(|| ApiError::bad_request("scopes must be strings"))
            })
            .collect(),
        Some(_) => Err(ApiError::bad_request(
            "scopes must be an array or a comma-separated string",
        )),
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct CreateBotBody {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    avatar_url: String,
    #[serde(default)]
    owner_user_id: Option<String>,
    #[serde(default)]
    token_name: String,
    #[serde(default)]
    scopes: Option<Value>,
}

/// `POST /api/workspaces/{id}/bots` → 201 `{bot, bot_token}`.
pub async fn create(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(workspace): Path<String>,
    Json(body): Json<CreateBotBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if body.display_name.trim().is_empty() {
        return Err(ApiError::bad_request("display_name is required"));
    }
    let created = state
        .identity_as(&principal)
        .create_bot(pb::CreateBotRequest {
            workspace,
            display_name: body.display_name,
            handle: body.handle,
            owner_user_id: body.owner_user_id.filter(|id| !id.trim().is_empty()),
            created_by: Some(principal.user.id.clone()),
            scopes: scopes_from(&body.scopes)?,
            token_name: body.token_name,
            avatar_url: body.avatar_url,
        })
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "bot": created.bot.map(wire::User::from),
            "bot_token": minted(created.bot_token, created.token),
        })),
    ))
}

/// `GET /api/workspaces/{id}/bots` → `{bots: [{bot, tokens}]}`.
pub async fn list(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(workspace): Path<String>,
) -> ApiResult<Json<Value>> {
    let list = state
        .identity_as(&principal)
        .list_bots(pb::ListBotsRequest {
            workspace,
            actor_user_id: Some(principal.user.id.clone()),
        })
        .await?
        .into_inner();
    let bots: Vec<Value> = list
        .bots
        .into_iter()
        .map(|entry| {
            json!({
                "bot": entry.bot.map(wire::User::from),
                "tokens": entry.tokens.into_iter().map(wire::BotToken::from).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({ "bots": bots })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct MintBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scopes: Option<Value>,
}

/// `POST /api/workspaces/{id}/bots/{bot_id}/tokens` → 201 `{bot_token}`.
pub async fn mint(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path((workspace, bot_id)): Path<(String, String)>,
    Json(body): Json<MintBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = state
        .identity_as(&principal)
        .create_bot_token(pb::CreateBotTokenRequest {
            workspace,
            bot_user_id: bot_id,
            name: body.name,
            scopes: scopes_from(&body.scopes)?,
            created_by: Some(principal.user.id.clone()),
        })
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "bot_token": minted(created.bot_token, created.token) })),
    ))
}

/// `GET /api/workspaces/{id}/bots/{bot_id}/tokens` → `{bot_tokens}`.
pub async fn tokens(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path((workspace, bot_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let list = state
        .identity_as(&principal)
        .list_bot_tokens(pb::ListBotTokensRequest {
            workspace,
            bot_user_id: bot_id,
            actor_user_id: Some(principal.user.id.clone()),
        })
        .await?
        .into_inner();
    let tokens: Vec<wire::BotToken> = list
        .bot_tokens
        .into_iter()
        .map(wire::BotToken::from)
        .collect();
    Ok(Json(json!({ "bot_tokens": tokens })))
}

/// `POST /api/bot-tokens/{token_id}/revoke` → `{bot_token}`.
pub async fn revoke(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(token_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let token = state
        .identity_as(&principal)
        .revoke_bot_token(pb::RevokeBotTokenRequest {
            token_id,
            actor_user_id: Some(principal.user.id.clone()),
            workspace: String::new(),
        })
        .await?
        .into_inner();
    Ok(Json(json!({ "bot_token": wire::BotToken::from(token) })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct RotateBody {
    /// How long the old token keeps working; default 0 (revoked at once).
    #[serde(default)]
    grace_seconds: Option<u32>,
}

/// `POST /api/bot-tokens/{token_id}/rotate {grace_seconds?}` → 201
/// `{bot_token, replaced}`: a new token with the old one's name and scopes;
/// the old one works until the grace period ends.
pub async fn rotate(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(token_id): Path<String>,
    body: Option<Json<RotateBody>>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let grace_seconds = body.and_then(|Json(b)| b.grace_seconds).unwrap_or(0);
    let rotated = state
        .identity_as(&principal)
        .rotate_bot_token(pb::RotateBotTokenRequest {
            token_id,
            grace_seconds,
            actor_user_id: Some(principal.user.id.clone()),
            workspace: String::new(),
        })
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "bot_token": minted(rotated.bot_token, rotated.token),
            "replaced": rotated.replaced.map(wire::BotToken::from),
        })),
    ))
}

/// `DELETE /api/workspaces/{id}/bots/{bot_id}/membership` → 204.
pub async fn remove(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path((workspace, bot_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .identity_as(&principal)
        .remove_bot(pb::RemoveBotRequest {
            workspace,
            bot_user_id: bot_id,
            actor_user_id: Some(principal.user.id.clone()),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/me/bots` → `{bots: [{bot, workspace, active_token_count}]}`.
pub async fn mine(
    State(state): State<AppState>,
    principal: Arc<Principal>,
) -> ApiResult<Json<Value>> {
    let list = state
        .identity_as(&principal)
        .list_owned_bots(pb::ListOwnedBotsRequest {
            owner_user_id: principal.user.id.clone(),
        })
        .await?
        .into_inner();
    let bots: Vec<Value> = list
        .bots
        .into_iter()
        .map(|owned| {
            let workspace = owned.workspace.unwrap_or_default();
            json!({
                "bot": owned.bot.map(wire::User::from),
                "workspace": { "id": workspace.id, "route_id": workspace.slug, "name": workspace.name },
                "active_token_count": owned.active_token_count,
            })
        })
        .collect();
    Ok(Json(json!({ "bots": bots })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct AuditQuery {
    limit: Option<u32>,
    #[serde(default)]
    before: String,
}

/// `GET /api/workspaces/{id}/audit-log?limit=&before=` → `{audit_log_entries}`,
/// newest first (owners and moderators).
pub async fn audit_log(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(workspace): Path<String>,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<Value>> {
    if query.limit.is_some_and(|n| !(1..=500).contains(&n)) {
        return Err(ApiError::bad_request("limit must be between 1 and 500"));
    }
    let list = state
        .identity_as(&principal)
        .list_audit(pb::ListAuditRequest {
            workspace,
            actor_user_id: Some(principal.user.id.clone()),
            limit: query.limit.unwrap_or(0),
            before: query.before,
        })
        .await?
        .into_inner();
    let entries: Vec<wire::AuditEntry> = list.entries.into_iter().map(Into::into).collect();
    Ok(Json(json!({ "audit_log_entries": entries })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct CommandEntry {
    #[serde(default)]
    command: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    args_hint: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct CommandsBody {
    commands: Option<Vec<CommandEntry>>,
}

/// `{bot_commands}` rows with their bot's public card (API.md §10).
async fn commands_json(state: &AppState, list: pb::BotCommandList) -> ApiResult<Value> {
    let bots = state
        .users
        .lookup(
            &state.identity(),
            list.bot_commands.iter().map(|c| c.bot_user_id.clone()),
        )
        .await?;
    let commands: Vec<Value> = list
        .bot_commands
        .into_iter()
        .map(|c| {
            let bot = bots.get(&c.bot_user_id).map(|bot| {
                json!({
                    "id": bot.id,
                    "handle": bot.handle,
                    "display_name": bot.display_name,
                    "avatar_url": bot.avatar_url,
                })
            });
            json!({
                "id": c.id,
                "workspace_id": c.workspace_id,
                "bot_user_id": c.bot_user_id,
                "command": c.command,
                "description": c.description,
                "args_hint": c.args_hint.unwrap_or_default(),
                "bot": bot.unwrap_or_else(|| json!({ "id": c.bot_user_id })),
                "created_at": c.created_at,
                "updated_at": c.updated_at,
            })
        })
        .collect();
    Ok(json!({ "bot_commands": commands }))
}

/// `PUT /api/bots/self/commands {commands}` → `{bot_commands}` (bot tokens).
pub async fn set_commands(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Json(body): Json<CommandsBody>,
) -> ApiResult<Json<Value>> {
    if principal.is_session() {
        return Err(ApiError::forbidden("only bot tokens publish command menus"));
    }
    let commands = body
        .commands
        .ok_or_else(|| ApiError::bad_request("commands is required (use [] to clear)"))?;
    let list = state
        .identity_as(&principal)
        .set_bot_commands(pb::SetBotCommandsRequest {
            bot_user_id: principal.user.id.clone(),
            workspace_id: principal.workspace_id.clone(),
            commands: commands
                .into_iter()
                .map(|c| pb::BotCommand {
                    bot_user_id: String::new(),
                    command: c.command,
                    description: c.description,
                    args_hint: c.args_hint,
                    ..Default::default()
                })
                .collect(),
        })
        .await?
        .into_inner();
    Ok(Json(commands_json(&state, list).await?))
}

/// `GET /api/workspaces/{id}/bot-commands` → `{bot_commands}`.
pub async fn list_commands(
    State(state): State<AppState>,
    principal: Arc<Principal>,
) -> ApiResult<Json<Value>> {
    // The policy layer scoped the principal to the workspace in the path.
    let workspace_id = principal.workspace_id.clone();
    let list = state
        .identity_as(&principal)
        .list_bot_commands(pb::ListBotCommandsRequest {
            workspace: workspace_id,
        })
        .await?
        .into_inner();
    Ok(Json(commands_json(&state, list).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct SetupCodeBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scopes: Option<Value>,
    #[serde(default)]
    defaults: Option<Value>,
}

/// `POST /api/workspaces/{id}/bots/{bot_id}/setup-codes` → 201 `{setup_code}`:
/// a one-time code a runtime trades for a token (same rights as minting).
pub async fn create_setup_code(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path((workspace, bot_id)): Path<(String, String)>,
    Json(body): Json<SetupCodeBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = state
        .identity_as(&principal)
        .create_setup_code(pb::CreateSetupCodeRequest {
            workspace,
            bot_user_id: bot_id,
            token_name: body.name,
            scopes: scopes_from(&body.scopes)?,
            defaults_json: body.defaults.map(|d| d.to_string()).unwrap_or_default(),
            created_by: Some(principal.user.id.clone()),
        })
        .await?
        .into_inner();
    let code = crate::render::require(created.setup_code, "setup code")?;
    let mut setup_code = setup_code_json(code);
    setup_code["code"] = json!(created.code);
    if let Some(url) = &state.public_url {
        setup_code["api_base_url"] = json!(url);
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({ "setup_code": setup_code })),
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ClaimBody {
    #[serde(default)]
    code: String,
}

/// `POST /api/bot-setup-codes/claim {code}` (no auth) → `{token, bot,
/// workspace, defaults, api_base_url?}`. Unknown, expired and used codes
/// are all 404; the sign-in rate limit per address stops guessing.
pub async fn claim_setup_code(
    State(state): State<AppState>,
    Json(body): Json<ClaimBody>,
) -> ApiResult<Json<Value>> {
    if body.code.trim().is_empty() {
        return Err(ApiError::bad_request("code is required"));
    }
    let claimed = state
        .identity()
        .claim_setup_code(pb::ClaimSetupCodeRequest { code: body.code })
        .await?
        .into_inner();
    let bot = crate::render::require(claimed.bot, "bot")?;
    let workspace = crate::render::require(claimed.workspace, "workspace")?;
    let workspace = wire::Workspace::from(workspace);
    let mut answer = json!({
        "token": claimed.token,
        "bot": { "id": bot.id, "handle": bot.handle, "display_name": bot.display_name },
        "workspace": {
            "id": workspace.id,
            "route_id": workspace.route_id,
            "slug": workspace.slug,
            "name": workspace.name,
        },
        "defaults": defaults_object(&claimed.defaults_json),
    });
    if let Some(url) = &state.public_url {
        answer["api_base_url"] = json!(url);
    }
    Ok(Json(answer))
}

/// `SetupCode` of API.md §10, without the code (shown only when minted).
fn setup_code_json(code: pb::SetupCode) -> Value {
    let mut value = json!({
        "id": code.id,
        "bot_user_id": code.bot_user_id,
        "workspace_id": code.workspace_id,
        "token_name": code.token_name,
        "scopes": code.scopes,
        "defaults": defaults_object(&code.defaults_json),
        "created_at": code.created_at,
        "expires_at": code.expires_at,
    });
    if let Some(by) = code.created_by {
        value["created_by"] = json!(by);
    }
    if let Some(at) = code.claimed_at {
        value["claimed_at"] = json!(at);
    }
    value
}

/// `GET /api/workspaces/{id}/bots/{bot_id}/setup-codes` → `{setup_codes}`:
/// the bot's recent codes, newest first, with when each was claimed.
pub async fn list_setup_codes(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path((workspace, bot_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let list = state
        .identity_as(&principal)
        .list_setup_codes(pb::ListSetupCodesRequest {
            workspace,
            bot_user_id: bot_id,
            actor_user_id: Some(principal.user.id.clone()),
        })
        .await?
        .into_inner();
    let codes: Vec<Value> = list.setup_codes.into_iter().map(setup_code_json).collect();
    Ok(Json(json!({ "setup_codes": codes })))
}

/// `POST /api/bot-setup-codes/{id}/revoke` → `{setup_code}`: withdraws an
/// unclaimed code.
pub async fn revoke_setup_code(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(code_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let code = state
        .identity_as(&principal)
        .revoke_setup_code(pb::RevokeSetupCodeRequest {
            setup_code_id: code_id,
            actor_user_id: Some(principal.user.id.clone()),
        })
        .await?
        .into_inner();
    Ok(Json(json!({ "setup_code": setup_code_json(code) })))
}

fn defaults_object(stored: &str) -> Value {
    serde_json::from_str(stored).unwrap_or_else(|_| json!({}))
}
