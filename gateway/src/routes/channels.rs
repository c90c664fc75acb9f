//! Channels (API.md §3).

use crate::error::ApiResult;
use crate::principal::Principal;
use crate::render;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use clickclack_proto::messaging as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /api/workspaces/{id}/channels` → `{channels}`.
pub async fn list(
    State(state): State<AppState>,
    principal: Arc<Principal>,
) -> ApiResult<Json<Value>> {
    let channels = state
        .messaging_as(&principal)
        .list_channels(pb::ListChannelsRequest {})
        .await?
        .into_inner()
        .channels;
    Ok(Json(json!({ "channels": channels })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct CreateChannel {
    name: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    display_title: Option<String>,
    #[serde(default)]
    sidebar_section: Option<String>,
    #[serde(default)]
    external_managed: bool,
    #[serde(default)]
    external_ref: Option<String>,
    #[serde(default)]
    external_url: Option<String>,
}

/// `POST /api/workspaces/{id}/channels` → 201 `{channel, event}`.
pub async fn create(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Json(body): Json<CreateChannel>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let reply = state
        .messaging_as(&principal)
        .create_channel(pb::CreateChannelRequest {
            name: body.name,
            kind: body.kind.unwrap_or_default(),
            display_title: body.display_title,
            sidebar_section: body.sidebar_section,
            external_managed: body.external_managed,
            external_ref: body.external_ref,
            external_url: body.external_url,
            if_missing: false,
        })
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "channel": render::require(reply.channel, "channel")?,
            "event": render::optional_event(reply.event.as_ref()),
        })),
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct UpdateChannel {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    archived: Option<bool>,
    #[serde(default)]
    external_managed: Option<bool>,
    // For the labels, `null` or `""` clears; an absent key leaves it alone.
    #[serde(default, deserialize_with = "present")]
    display_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    external_ref: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    external_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    sidebar_section: Option<Option<String>>,
}

/// Tells a key sent as `null` (`Some(None)`) from a missing key (`None`).
fn present<'de, D>(deserializer: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(deserializer).map(Some)
}

/// What a PATCH label becomes on the wire to messaging: `""` clears.
fn label(value: Option<Option<String>>) -> Option<String> {
    value.map(Option::unwrap_or_default)
}

/// `PATCH /api/channels/{id}` → `{channel, event}`.
pub async fn update(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(channel_id): Path<String>,
    Json(body): Json<UpdateChannel>,
) -> ApiResult<Json<Value>> {
    let reply = state
        .messaging_as(&principal)
        .update_channel(pb::UpdateChannelRequest {
            channel_id,
            name: body.name,
            kind: body.kind,
            archived: body.archived,
            display_title: label(body.display_title),
            external_managed: body.external_managed,
            external_ref: label(body.external_ref),
            external_url: label(body.external_url),
            sidebar_section: label(body.sidebar_section),
        })
        .await?
        .into_inner();
    Ok(Json(json!({
        "channel": render::require(reply.channel, "channel")?,
        "event": render::optional_event(reply.event.as_ref()),
    })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ReadBody {
    seq: i64,
}

/// `POST /api/channels/{id}/read` → `{receipt, event}`.
pub async fn mark_read(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(channel_id): Path<String>,
    Json(body): Json<ReadBody>,
) -> ApiResult<Json<Value>> {
    read(&state, &principal, Some(channel_id), None, body.seq).await
}

/// `POST /api/dms/{id}/read` → `{receipt, event}`.
pub async fn mark_dm_read(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(conversation_id): Path<String>,
    Json(body): Json<ReadBody>,
) -> ApiResult<Json<Value>> {
    read(&state, &principal, None, Some(conversation_id), body.seq).await
}

async fn read(
    state: &AppState,
    principal: &Principal,
    channel_id: Option<String>,
    direct_conversation_id: Option<String>,
    seq: i64,
) -> ApiResult<Json<Value>> {
    let reply = state
        .messaging_as(principal)
        .mark_read(pb::MarkReadRequest {
            channel_id,
            direct_conversation_id,
            seq,
        })
        .await?
        .into_inner();
    Ok(Json(json!({
        "receipt": render::require(reply.receipt, "receipt")?,
        "event": render::optional_event(reply.event.as_ref()),
    })))
}
