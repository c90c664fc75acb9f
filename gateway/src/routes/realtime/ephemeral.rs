//! `POST /api/realtime/ephemeral`: typing, presence and agent progress to
//! live sockets only.

use crate::error::{ApiError, ApiResult};
use crate::policy;
use crate::principal::Principal;
use crate::render;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use clickclack_common::roles::UserKind;
use clickclack_common::scopes::Scope;
use clickclack_proto::messaging as messaging_pb;
use clickclack_proto::realtime as rt;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct EphemeralBody {
    #[serde(default)]
    workspace_id: String,
    channel_id: Option<String>,
    direct_conversation_id: Option<String>,
    r#type: String,
    #[serde(default)]
    payload: Option<Map<String, Value>>,
}

const EPHEMERAL_TYPES: [&str; 4] = [
    "typing.started",
    "typing.stopped",
    "presence.changed",
    "agent.progress",
];

/// `POST /api/realtime/ephemeral` → 202 `{event}`: to live sockets only.
pub async fn ephemeral(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Json(body): Json<EphemeralBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (_, principal) = policy::scope_to_workspace(&state, principal, &body.workspace_id).await?;
    if !EPHEMERAL_TYPES.contains(&body.r#type.as_str()) {
        return Err(ApiError::bad_request(format!(
            "unknown ephemeral type {:?} (use {})",
            body.r#type,
            EPHEMERAL_TYPES.join(", ")
        )));
    }
    let targets =
        usize::from(body.channel_id.is_some()) + usize::from(body.direct_conversation_id.is_some());
    if body.r#type == "agent.progress" {
        if principal.user.kind != UserKind::Bot.as_str() {
            return Err(ApiError::forbidden("agent.progress needs a bot token"));
        }
        if targets != 1 {
            return Err(ApiError::bad_request(
                "agent.progress needs exactly one of channel_id or direct_conversation_id",
            ));
        }
    } else if targets > 1 {
        return Err(ApiError::bad_request(
            "give at most one of channel_id or direct_conversation_id",
        ));
    }

    let mut payload = body.payload.unwrap_or_default();
    payload.insert("user_id".into(), json!(principal.user.id));
    let mut audience = Vec::new();
    let mut channel_id = None;
    if let Some(id) = body.channel_id {
        // Must be a channel of the caller's workspace.
        let channel = state
            .messaging_as(&principal)
            .get_channel(messaging_pb::GetChannelRequest { channel_id: id })
            .await?
            .into_inner();
        // The payload names its target too (typing indicators read it there).
        payload.insert("channel_id".into(), json!(channel.id));
        channel_id = Some(channel.id);
    }
    if let Some(id) = body.direct_conversation_id {
        principal.require(Scope::DmsWrite)?;
        let conversation = state
            .messaging_as(&principal)
            .get_conversation(messaging_pb::GetConversationRequest {
                conversation_id: id,
            })
            .await?
            .into_inner();
        payload.insert("direct_conversation_id".into(), json!(conversation.id));
        audience = conversation.member_ids;
    }
    let event = state
        .realtime
        .clone()
        .publish(state.signed(
            &principal,
            rt::PublishRequest {
                event: Some(rt::Event {
                    r#type: body.r#type,
                    channel_id,
                    payload_json: Value::Object(payload).to_string(),
                    audience,
                    ..Default::default()
                }),
            },
        ))
        .await?
        .into_inner();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "event": render::event(&event) })),
    ))
}
