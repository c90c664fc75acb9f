//! App installations (upstream's `apps.*`): an app, by slug, bound to one
//! of the workspace's bots, kept by identity. Sessions only: bot tokens
//! cannot list, install or revoke them (403).

use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use clickclack_proto::identity as pb;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Upstream's `AppInstallation`; absent optional fields are left out.
fn installation_json(installation: Option<pb::AppInstallation>) -> Value {
    let Some(installation) = installation else {
        return Value::Null;
    };
    let config: Value = serde_json::from_str(&installation.config_json)
        .unwrap_or_else(|_| Value::Object(Map::new()));
    let mut value = json!({
        "id": installation.id,
        "workspace_id": installation.workspace_id,
        "app_slug": installation.app_slug,
        "display_name": installation.display_name,
        "bot_user_id": installation.bot_user_id,
        "config": config,
        "created_at": installation.created_at,
    });
    if let Some(created_by) = installation.created_by {
        value["created_by"] = json!(created_by);
    }
    if let Some(revoked_at) = installation.revoked_at {
        value["revoked_at"] = json!(revoked_at);
    }
    value
}

/// `GET /api/workspaces/{id}/app-installations` → `{app_installations}`,
/// the live ones, by slug.
pub async fn list(
    State(state): State<AppState>,
    principal: Arc<Principal>,
) -> ApiResult<Json<Value>> {
    let list = state
        .identity_as(&principal)
        .list_app_installations(pb::ListAppInstallationsRequest {
            workspace: principal.workspace_id.clone(),
            actor_user_id: Some(principal.user.id.clone()),
        })
        .await?
        .into_inner();
    let installations: Vec<Value> = list
        .app_installations
        .into_iter()
        .map(|installation| installation_json(Some(installation)))
        .collect();
    Ok(Json(json!({ "app_installations": installations })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct InstallBody {
    /// The app's name in URLs: lower-cased, other characters become `-`
    /// (`My App` is `my-app`); one live installation per workspace.
    app_slug: String,
    /// At most 80 characters; the slug when left out.
    #[serde(default)]
    display_name: Option<String>,
    /// A bot of this workspace that acts for the app.
    bot_user_id: String,
    /// The app's own settings: a JSON object (at most 16 KiB).
    #[serde(default)]
    config: Option<Value>,
    /// Accepted for upstream's clients; not used.
    #[serde(default)]
    #[allow(dead_code)]
    setup_nonce: Option<String>,
}

/// `POST /api/workspaces/{id}/app-installations` → 201 `{app_installation}`
/// (owners and moderators).
pub async fn install(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Json(body): Json<InstallBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let config_json = match body.config {
        None | Some(Value::Null) => String::new(),
        Some(config @ Value::Object(_)) => config.to_string(),
        Some(_) => return Err(ApiError::bad_request("config must be a JSON object")),
    };
    let installation = state
        .identity_as(&principal)
        .create_app_installation(pb::CreateAppInstallationRequest {
            workspace: principal.workspace_id.clone(),
            app_slug: body.app_slug,
            display_name: body.display_name.unwrap_or_default(),
            bot_user_id: body.bot_user_id,
            config_json,
            created_by: Some(principal.user.id.clone()),
        })
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "app_installation": installation_json(Some(installation)) })),
    ))
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
pub struct RevokeBody {
    /// Default true. Nothing is attached to an installation yet, so the
    /// count is always 0.
    #[serde(default)]
    #[allow(dead_code)]
    revoke_slash_commands: Option<bool>,
    /// Default true; as above, the count is 0 for now.
    #[serde(default)]
    #[allow(dead_code)]
    revoke_event_subscriptions: Option<bool>,
    /// Default false: the bot may serve other integrations. True revokes
    /// every token it holds in the workspace (the next request is 401).
    #[serde(default)]
    revoke_bot_tokens: Option<bool>,
    /// Default false. True takes the bot out of the workspace: membership,
    /// tokens and command menu.
    #[serde(default)]
    delete_bot: Option<bool>,
}

/// `POST /api/app-installations/{id}/revoke` → `{installation,
/// app_installation, revoked: {slash_commands, event_subscriptions,
/// bot_tokens}, deleted_bot?}` (owners and moderators). The body is
/// optional; revoking again answers zero counts.
pub async fn revoke(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let options: RevokeBody = super::command_invocations::json_or_default(&body)?;
    let revoked = state
        .identity_as(&principal)
        .revoke_app_installation(pb::RevokeAppInstallationRequest {
            installation_id: id,
            revoke_bot_tokens: options.revoke_bot_tokens.unwrap_or(false),
            delete_bot: options.delete_bot.unwrap_or(false),
            actor_user_id: Some(principal.user.id.clone()),
        })
        .await?
        .into_inner();
    let installation = installation_json(revoked.installation);
    // Upstream's server answers `installation`; its SDK reads
    // `app_installation`. Both are here so either works unchanged.
    let mut answer = json!({
        "installation": installation,
        "app_installation": installation,
        "revoked": {
            "slash_commands": 0,
            "event_subscriptions": 0,
            "bot_tokens": revoked.revoked_bot_tokens,
        },
    });
    if let Some(bot) = revoked.deleted_bot {
        answer["deleted_bot"] = json!({
            "id": bot.id,
            "display_name": bot.display_name,
            "former_handle": bot.handle,
            "deleted_at": revoked.revoked_at,
        });
    }
    Ok(Json(answer))
}
