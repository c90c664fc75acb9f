//! Messages, threads and reactions (API.md §4, §5, §7).

use crate::error::{ApiError, ApiResult};
use crate::middleware::CorrelationId;
use crate::principal::Principal;
use crate::render;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use clickclack_common::actions::MessageAction;
use clickclack_proto::messaging as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// Body of a new message or reply. Unknown keys (`author_model`, ...) are
/// accepted and ignored.
#[derive(Deserialize, schemars::JsonSchema)]
pub struct NewMessage {
    body: String,
    #[serde(default)]
    quoted_message_id: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    turn_id: Option<String>,
    /// Buttons under the message (bots only; at most 5).
    #[serde(default)]
    actions: Vec<MessageAction>,
}

/// Where a post goes.
pub enum PostTarget {
    Channel(String),
    Conversation(String),
}

/// Posts a top-level message: 201 `{message, event}`, or 200 `{message}` for
/// a repeated nonce.
pub async fn post(
    state: &AppState,
    principal: &Principal,
    correlation: &CorrelationId,
    target: PostTarget,
    body: NewMessage,
) -> ApiResult<Response> {
    let (channel_id, direct_conversation_id) = match target {
        PostTarget::Channel(id) => (Some(id), None),
        PostTarget::Conversation(id) => (None, Some(id)),
    };
    let reply = state
        .messaging_as(principal)
        .post_message(pb::PostMessageRequest {
            channel_id,
            direct_conversation_id,
            thread_parent_id: None,
            body: body.body,
            quoted_message_id: body.quoted_message_id,
            nonce: body.nonce,
            kind: body.kind.unwrap_or_default(),
            turn_id: body.turn_id,
            correlation_id: Some(correlation.0.clone()),
            actions: render::actions_pb(body.actions),
        })
        .await?
        .into_inner();
    let message = render::message(state, &render::require(reply.message, "message")?).await?;
    Ok(if reply.created {
        let event = render::optional_event(reply.events.first());
        (
            StatusCode::CREATED,
            Json(json!({ "message": message, "event": event })),
        )
            .into_response()
    } else {
        (StatusCode::OK, Json(json!({ "message": message }))).into_response()
    })
}

/// `POST /api/channels/{id}/messages`.
pub async fn create_in_channel(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Extension(correlation): Extension<CorrelationId>,
    Path(channel_id): Path<String>,
    Json(body): Json<NewMessage>,
) -> ApiResult<Response> {
    post(
        &state,
        &principal,
        &correlation,
        PostTarget::Channel(channel_id),
        body,
    )
    .await
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct PageQuery {
    after_seq: Option<i64>,
    before_seq: Option<i64>,
    around_seq: Option<i64>,
    limit: Option<u32>,
}

/// Lists top-level messages: `{messages, oldest_seq, newest_seq, has_older, has_newer}`.
pub async fn list(
    state: &AppState,
    principal: &Principal,
    target: PostTarget,
    query: PageQuery,
) -> ApiResult<Json<Value>> {
    if query.limit == Some(0) {
        return Err(ApiError::bad_request("limit must be between 1 and 200"));
    }
    let (channel_id, direct_conversation_id) = match target {
        PostTarget::Channel(id) => (Some(id), None),
        PostTarget::Conversation(id) => (None, Some(id)),
    };
    let page = state
        .messaging_as(principal)
        .list_messages(pb::ListMessagesRequest {
            channel_id,
            direct_conversation_id,
            after_seq: query.after_seq,
            before_seq: query.before_seq,
            around_seq: query.around_seq,
            limit: query.limit.unwrap_or(0),
        })
        .await?
        .into_inner();
    let mut body = json!({
        "messages": render::messages(state, &page.messages).await?,
        "has_older": page.has_older,
        "has_newer": page.has_newer,
    });
    render::page_bounds(&mut body, page.oldest_seq, page.newest_seq);
    Ok(Json(body))
}

/// `GET /api/channels/{id}/messages`.
pub async fn list_in_channel(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(channel_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    list(&state, &principal, PostTarget::Channel(channel_id), query).await
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct NonceQuery {
    /// Read by the policy layer, which scopes the request to it before the
    /// handler runs; declared here for the OpenAPI document.
    #[serde(default)]
    #[allow(dead_code)]
    workspace_id: String,
    #[serde(default)]
    nonce: String,
}

/// Marks a 404 as coming from a server that supports nonce lookups.
pub fn with_nonce_header(result: ApiResult<Response>, header: &'static str) -> Response {
    match result {
        Ok(response) => response,
        Err(error) => {
            let not_found = error.status == StatusCode::NOT_FOUND;
            let mut response = error.into_response();
            if not_found {
                response.headers_mut().insert(
                    HeaderName::from_static(header),
                    HeaderValue::from_static("supported"),
                );
            }
            response
        }
    }
}

/// `GET /api/messages/by-nonce?workspace_id=&nonce=` → `{message}`.
pub async fn by_nonce(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Query(query): Query<NonceQuery>,
) -> Response {
    let result = async {
        if query.nonce.is_empty() {
            return Err(ApiError::bad_request("nonce is required"));
        }
        let reply = state
            .messaging_as(&principal)
            .get_message_by_nonce(pb::GetMessageByNonceRequest { nonce: query.nonce })
            .await?
            .into_inner();
        let message = render::message(&state, &render::require(reply.message, "message")?).await?;
        Ok(Json(json!({ "message": message })).into_response())
    }
    .await;
    with_nonce_header(result, "x-clickclack-message-nonce")
}

/// `GET /api/messages/{id}` → `{message}`.
pub async fn get(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(message_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let reply = state
        .messaging_as(&principal)
        .get_message(pb::GetMessageRequest { message_id })
        .await?
        .into_inner();
    let message = render::message(&state, &render::require(reply.message, "message")?).await?;
    Ok(Json(json!({ "message": message })))
}

/// `{message, event}` from a message reply.
async fn message_and_event(state: &AppState, reply: pb::MessageReply) -> ApiResult<Json<Value>> {
    let message = render::message(state, &render::require(reply.message, "message")?).await?;
    Ok(Json(json!({
        "message": message,
        "event": render::optional_event(reply.event.as_ref()),
    })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct EditBody {
    #[serde(default)]
    body: Option<String>,
    /// Replaces the message's buttons (`[]` removes them); bots only.
    #[serde(default)]
    actions: Option<Vec<MessageAction>>,
}

/// `PATCH /api/messages/{id}` `{body?, actions?}` → `{message, event}`
/// (author only).
pub async fn edit(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Extension(correlation): Extension<CorrelationId>,
    Path(message_id): Path<String>,
    Json(body): Json<EditBody>,
) -> ApiResult<Json<Value>> {
    let reply = state
        .messaging_as(&principal)
        .edit_message(pb::EditMessageRequest {
            message_id,
            body: body.body,
            correlation_id: Some(correlation.0),
            set_actions: body.actions.is_some(),
            actions: render::actions_pb(body.actions.unwrap_or_default()),
        })
        .await?
        .into_inner();
    message_and_event(&state, reply).await
}

/// `DELETE /api/messages/{id}` → `{message, event}` (soft delete).
pub async fn delete(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Extension(correlation): Extension<CorrelationId>,
    Path(message_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let reply = state
        .messaging_as(&principal)
        .delete_message(pb::DeleteMessageRequest {
            message_id,
            correlation_id: Some(correlation.0),
        })
        .await?
        .into_inner();
    message_and_event(&state, reply).await
}

/// `POST /api/messages/{id}/thread/replies` → 201 `{message, thread_state, events}`.
pub async fn reply(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Extension(correlation): Extension<CorrelationId>,
    Path(parent_id): Path<String>,
    Json(body): Json<NewMessage>,
) -> ApiResult<Response> {
    let reply = state
        .messaging_as(&principal)
        .post_message(pb::PostMessageRequest {
            channel_id: None,
            direct_conversation_id: None,
            thread_parent_id: Some(parent_id),
            body: body.body,
            quoted_message_id: body.quoted_message_id,
            nonce: body.nonce,
            kind: body.kind.unwrap_or_default(),
            turn_id: body.turn_id,
            correlation_id: Some(correlation.0),
            actions: render::actions_pb(body.actions),
        })
        .await?
        .into_inner();
    let message = render::message(&state, &render::require(reply.message, "message")?).await?;
    let (status, events) = if reply.created {
        (
            StatusCode::CREATED,
            Value::Array(reply.events.iter().map(render::event).collect()),
        )
    } else {
        (StatusCode::OK, Value::Null)
    };
    Ok((
        status,
        Json(json!({ "message": message, "thread_state": reply.thread_state, "events": events })),
    )
        .into_response())
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ThreadQuery {
    limit: Option<u32>,
    #[serde(default)]
    latest: bool,
    before_seq: Option<i64>,
    after_seq: Option<i64>,
}

/// `GET /api/messages/{id}/thread` → `{root, replies, thread_state, ...}`.
pub async fn thread(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(message_id): Path<String>,
    Query(query): Query<ThreadQuery>,
) -> ApiResult<Json<Value>> {
    if query.limit == Some(0) {
        return Err(ApiError::bad_request("limit must be between 1 and 200"));
    }
    let page = state
        .messaging_as(&principal)
        .get_thread(pb::GetThreadRequest {
            message_id,
            limit: query.limit.unwrap_or(0),
            latest: query.latest,
            before_seq: query.before_seq,
            after_seq: query.after_seq,
        })
        .await?
        .into_inner();
    let root = render::require(page.root, "root")?;
    let mut all = vec![root];
    all.extend(page.replies);
    let mut rendered = render::messages(&state, &all).await?;
    let root = rendered.remove(0);
    let mut body = json!({
        "root": root,
        "replies": rendered,
        "thread_state": page.thread_state,
        "has_older": page.has_older,
        "has_newer": page.has_newer,
    });
    render::page_bounds(&mut body, page.oldest_seq, page.newest_seq);
    Ok(Json(body))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ReactionBody {
    emoji: String,
}

/// `POST /api/messages/{id}/reactions` → 201 `{event, reactions}` (200 if already there).
pub async fn add_reaction(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Extension(correlation): Extension<CorrelationId>,
    Path(message_id): Path<String>,
    Json(body): Json<ReactionBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let reply = state
        .messaging_as(&principal)
        .add_reaction(pb::ReactionRequest {
            message_id,
            emoji: body.emoji,
            correlation_id: Some(correlation.0),
        })
        .await?
        .into_inner();
    let status = if reply.changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, reaction_json(reply)))
}

/// `DELETE /api/messages/{id}/reactions/{emoji}` → 200 `{event, reactions}`.
pub async fn remove_reaction(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Extension(correlation): Extension<CorrelationId>,
    Path((message_id, emoji)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let reply = state
        .messaging_as(&principal)
        .remove_reaction(pb::ReactionRequest {
            message_id,
            emoji,
            correlation_id: Some(correlation.0),
        })
        .await?
        .into_inner();
    Ok(reaction_json(reply))
}

fn reaction_json(reply: pb::ReactionReply) -> Json<Value> {
    Json(json!({
        "event": render::optional_event(reply.event.as_ref()),
        "reactions": reply.reactions,
    }))
}
