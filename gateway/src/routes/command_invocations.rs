//! Invoking slash commands (upstream's `POST /api/hooks/slash/{channel}`)
//! and answering them (`POST /api/command-responses/{token}`).
//!
//! The webhooks service keeps the commands, calls a request URL and holds
//! the response tokens; the gateway checks the invoker may write where
//! they typed, hands a socket command to its bot as a `command.invoked`
//! event, and carries out replies: `in_channel` is a message posted as the
//! bot, `ephemeral` a `command.response` event only the invoker's sockets
//! get.

use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::render;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use clickclack_common::actions::MessageAction;
use clickclack_common::assertion::Claims;
use clickclack_common::commands::{self, Answer, Visibility};
use clickclack_common::event_types;
use clickclack_common::grpc::prefix_within;
use clickclack_common::ids::{self, ResourceId};
use clickclack_common::scopes::Scope;
use clickclack_common::wire;
use clickclack_proto::messaging as messaging_pb;
use clickclack_proto::realtime as rt;
use clickclack_proto::webhooks as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The longest text after a command (Slack's bound; it travels in a
/// live-only event to socket bots, which holds under 8 KB).
const MAX_INVOCATION_TEXT_CHARS: usize = 4_000;

/// What an invocation says: upstream sends a form; JSON is taken too.
#[derive(Deserialize, Default, schemars::JsonSchema)]
pub struct InvokeBody {
    /// `/deploy` (or `deploy`); may be left out when `text` starts with it.
    #[serde(default)]
    command: String,
    /// What follows the command.
    #[serde(default)]
    text: String,
    /// Invoked inside this thread: in-channel replies go there.
    #[serde(default)]
    thread_root_id: Option<String>,
}

/// A JSON body, or the default for an empty one (these routes take a
/// bare POST).
pub(crate) fn json_or_default<T: Default + serde::de::DeserializeOwned>(
    body: &Bytes,
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("invalid JSON body: {error}")))
}

fn read_invoke_body(headers: &HeaderMap, body: &Bytes) -> Result<InvokeBody, ApiError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    let mut input = if is_form {
        let mut input = InvokeBody::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            match name.as_ref() {
                "command" => input.command = value.into_owned(),
                "text" => input.text = value.into_owned(),
                "thread_root_id" => input.thread_root_id = Some(value.into_owned()),
                _ => {}
            }
        }
        input
    } else {
        json_or_default(body)?
    };
    input.command = input.command.trim().to_owned();
    input.text = input.text.trim().to_owned();
    // `/deploy prod` typed whole into text.
    if input.command.is_empty() && input.text.starts_with('/') {
        let (command, rest) = input
            .text
            .split_once(char::is_whitespace)
            .unwrap_or((input.text.as_str(), ""));
        let (command, rest) = (command.to_owned(), rest.trim().to_owned());
        input.command = command;
        input.text = rest;
    }
    if input.command.is_empty() && input.text.is_empty() {
        return Err(ApiError::bad_request("slash command text is required"));
    }
    if input.text.chars().count() > MAX_INVOCATION_TEXT_CHARS {
        return Err(ApiError::bad_request(format!(
            "text is at most {MAX_INVOCATION_TEXT_CHARS} characters"
        )));
    }
    input.thread_root_id = input.thread_root_id.filter(|id| !id.trim().is_empty());
    Ok(input)
}

/// A post into a channel or DM, or into the thread of `thread_root_id`
/// there (a thread is named by its root alone).
fn post_into(
    channel_id: Option<String>,
    direct_conversation_id: Option<String>,
    thread_root_id: Option<String>,
    body: String,
) -> messaging_pb::PostMessageRequest {
    let (channel_id, direct_conversation_id) = if thread_root_id.is_some() {
        (None, None)
    } else {
        (channel_id, direct_conversation_id)
    };
    messaging_pb::PostMessageRequest {
        channel_id,
        direct_conversation_id,
        thread_parent_id: thread_root_id,
        body,
        ..Default::default()
    }
}

/// The bot a command answers as: it posts and publishes without a token.
fn as_bot(invocation: &pb::Invocation) -> Claims {
    let scopes: BTreeSet<Scope> = [
        Scope::MessagesWrite,
        Scope::MessagesRead,
        Scope::ChannelsRead,
        Scope::ThreadsRead,
        Scope::ThreadsWrite,
        Scope::DmsWrite,
    ]
    .into();
    Claims::bot(&invocation.bot_user_id, &invocation.workspace_id, &scopes)
}

/// The most of an ephemeral text a live event carries (they travel in
/// Postgres notifications, under 8 KB); longer ones are cut with `…`.
const MAX_EPHEMERAL_TEXT_BYTES: usize = 6_000;

fn fitted(text: &str) -> String {
    if text.len() <= MAX_EPHEMERAL_TEXT_BYTES {
        return text.to_owned();
    }
    format!("{}…", prefix_within(text, MAX_EPHEMERAL_TEXT_BYTES))
}

/// Shows `text` to the invoker alone, as a `command.response` event.
pub(super) async fn tell_invoker(
    state: &AppState,
    invocation: &pb::Invocation,
    text: &str,
    failed: bool,
) -> ApiResult<Value> {
    let payload = wire::with_present(
        json!({
            "invocation_id": invocation.id,
            "command": invocation.command,
            "bot_user_id": invocation.bot_user_id,
            "user_id": invocation.user_id,
            "response_type": "ephemeral",
            "text": fitted(text),
            "is_error": failed,
        }),
        [
            ("channel_id", &invocation.channel_id),
            ("direct_conversation_id", &invocation.direct_conversation_id),
            ("thread_root_id", &invocation.thread_root_id),
            ("message_id", &invocation.message_id),
            ("action_id", &invocation.action_id),
        ],
    );
    let event = state
        .realtime
        .clone()
        .publish(state.signed_claims(
            &as_bot(invocation),
            rt::PublishRequest {
                event: Some(rt::Event {
                    r#type: event_types::COMMAND_RESPONSE.into(),
                    channel_id: invocation.channel_id.clone(),
                    payload_json: payload.to_string(),
                    audience: vec![invocation.user_id.clone()],
                    ..Default::default()
                }),
            },
        ))
        .await?
        .into_inner();
    Ok(render::event(&event))
}

/// Carries out a reply: `(message, event)` as the answer shows them.
async fn deliver(
    state: &AppState,
    invocation: &pb::Invocation,
    reply: &pb::CommandReply,
) -> ApiResult<(Value, Value)> {
    if reply.replace_original {
        return replace_original(state, invocation, reply).await;
    }
    if reply.response_type == "ephemeral" {
        let event = tell_invoker(state, invocation, &reply.text, false).await?;
        return Ok((Value::Null, event));
    }
    let posted = state
        .messaging_signed(&as_bot(invocation))
        .post_message(post_into(
            invocation.channel_id.clone(),
            invocation.direct_conversation_id.clone(),
            invocation.thread_root_id.clone(),
            reply.text.clone(),
        ))
        .await;
    let posted = match posted {
        Ok(posted) => posted.into_inner(),
        // The bot may not post there (a private channel it is not in):
        // the invoker hears why, instead of a silent nothing.
        Err(refusal) if refused_the_bot(&refusal) => {
            let why = format!(
                "{} answered, but its bot cannot post here: {}",
                invocation.command,
                refusal.message()
            );
            let event = tell_invoker(state, invocation, &why, true).await?;
            return Ok((Value::Null, event));
        }
        Err(other) => return Err(other.into()),
    };
    let message = render::message(state, &render::require(posted.message, "message")?).await?;
    Ok((message, render::optional_event(posted.events.first())))
}

/// Messaging refused what the bot asked (not there, not allowed, not
/// valid, deleted meanwhile): the invoker is told, it is no failure of ours.
fn refused_the_bot(refusal: &tonic::Status) -> bool {
    matches!(
        refusal.code(),
        tonic::Code::PermissionDenied
            | tonic::Code::NotFound
            | tonic::Code::InvalidArgument
            | tonic::Code::AlreadyExists
    )
}

/// A button press answered with `replace_original`: the bot edits the
/// pressed message (its text, its buttons), as its author.
async fn replace_original(
    state: &AppState,
    invocation: &pb::Invocation,
    reply: &pb::CommandReply,
) -> ApiResult<(Value, Value)> {
    let Some(message_id) = invocation.message_id.clone() else {
        let why = format!(
            "{} answered with replace_original, which only a button press takes",
            invocation.command
        );
        let event = tell_invoker(state, invocation, &why, true).await?;
        return Ok((Value::Null, event));
    };
    let edited = state
        .messaging_signed(&as_bot(invocation))
        .edit_message(messaging_pb::EditMessageRequest {
            message_id,
            body: Some(reply.text.clone()).filter(|text| !text.is_empty()),
            correlation_id: None,
            set_actions: reply.set_actions,
            actions: reply.actions.clone(),
        })
        .await;
    match edited {
        Ok(edited) => {
            let edited = edited.into_inner();
            let message =
                render::message(state, &render::require(edited.message, "message")?).await?;
            Ok((message, render::optional_event(edited.event.as_ref())))
        }
        // Deleted meanwhile, or buttons that do not check: the presser
        // hears why.
        Err(refusal) if refused_the_bot(&refusal) => {
            let why = format!(
                "the bot answered, but could not change the message: {}",
                refusal.message()
            );
            let event = tell_invoker(state, invocation, &why, true).await?;
            Ok((Value::Null, event))
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /api/hooks/slash/{id}` (a channel or DM): form `{command, text}`
/// (or JSON, optionally `thread_root_id`) → 200 `{response_type, text,
/// message, event, invocation}`; 502 `{error}` when the bot failed to
/// answer (the invoker's sockets also get it as `command.response`); an
/// unknown command is posted as the invoker's own message (201), as
/// upstream does.
pub async fn invoke(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let input = read_invoke_body(&headers, &body)?;
    let (channel_id, direct_conversation_id) = match ResourceId::parse(&id) {
        Some(ResourceId::Channel(id)) => (Some(id.to_owned()), None),
        Some(ResourceId::Conversation(id)) => (None, Some(id.to_owned())),
        _ => return Err(ApiError::not_found("channel not found")),
    };
    // The invoker must be able to read (and so write) where they typed.
    if let Some(id) = &channel_id {
        state
            .messaging_as(&principal)
            .get_channel(messaging_pb::GetChannelRequest {
                channel_id: id.clone(),
            })
            .await?;
    }
    if let Some(id) = &direct_conversation_id {
        principal.require(Scope::DmsWrite)?;
        state
            .messaging_as(&principal)
            .get_conversation(messaging_pb::GetConversationRequest {
                conversation_id: id.clone(),
            })
            .await?;
    }
    // A thread must be one of the place typed in: the bot's reply goes
    // there, and a root elsewhere would steer it to where the caller
    // cannot read.
    if let Some(root) = &input.thread_root_id {
        let found = state
            .messaging_as(&principal)
            .get_message(messaging_pb::GetMessageRequest {
                message_id: root.clone(),
            })
            .await?
            .into_inner()
            .message;
        let here = found.is_some_and(|message| {
            message.parent_message_id.is_none()
                && message.channel_id == channel_id
                && message.direct_conversation_id == direct_conversation_id
        });
        if !here {
            return Err(ApiError::bad_request(
                "thread_root_id is not a thread root of this channel or DM",
            ));
        }
    }
    let result = state
        .webhooks_as(&principal)
        .invoke(pb::InvokeRequest {
            workspace_id: principal.workspace_id.clone(),
            command: input.command.clone(),
            text: input.text.clone(),
            channel_id: channel_id.clone(),
            direct_conversation_id: direct_conversation_id.clone(),
            thread_root_id: input.thread_root_id.clone(),
            response_url_base: state.public_url.clone().unwrap_or_default(),
        })
        .await?
        .into_inner();
    if !result.found {
        return post_as_typed(
            &state,
            &principal,
            channel_id,
            direct_conversation_id,
            input,
        )
        .await;
    }
    answer_invocation(&state, &principal, result, event_types::COMMAND_INVOKED).await
}

/// What became of an invocation (a command's or a button press's): a
/// socket bot is handed its event and awaited; a failure is 502 and
/// reaches the invoker's sockets too; a reply is carried out. → 200
/// `{response_type, text, invocation, message?, event?}`.
pub(super) async fn answer_invocation(
    state: &AppState,
    principal: &Principal,
    result: pb::InvokeResult,
    socket_event: &str,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let invocation = render::require(result.invocation.clone(), "invocation")?;
    let result = if invocation.delivery == "socket" {
        hand_to_bot(
            state,
            principal,
            &invocation,
            socket_event,
            &result.payload_json,
        )
        .await?
    } else {
        result
    };
    let invocation = result.invocation.clone().unwrap_or(invocation);
    if let Some(failure) = result.failure.filter(|_| !result.acked) {
        // The answer says it anyway: the notice to other sockets is extra.
        if let Err(error) = tell_invoker(state, &invocation, &failure, true).await {
            tracing::warn!(invocation = %invocation.id, error = %error.message, "could not tell the invoker's sockets");
        }
        return Err(ApiError::new(StatusCode::BAD_GATEWAY, failure));
    }
    let (message, event) = match &result.reply {
        Some(reply) => deliver(state, &invocation, reply).await?,
        None => (Value::Null, Value::Null),
    };
    let reply = result.reply.unwrap_or_default();
    let mut answer = json!({
        "response_type": if reply.response_type.is_empty() { "in_channel" } else { reply.response_type.as_str() },
        "text": reply.text,
        "invocation": wire::command_invocation(&invocation),
    });
    if reply.replace_original {
        answer["replace_original"] = json!(true);
    }
    with_reply(&mut answer, message, event);
    Ok((StatusCode::OK, Json(answer)))
}

/// A socket invocation: the bot gets `command.invoked` (or
/// `action.invoked`) on its sockets, and has 3 s to acknowledge with its
/// response token.
async fn hand_to_bot(
    state: &AppState,
    principal: &Principal,
    invocation: &pb::Invocation,
    event_type: &str,
    payload_json: &str,
) -> ApiResult<pb::InvokeResult> {
    state
        .realtime
        .clone()
        .publish(state.signed(
            principal,
            rt::PublishRequest {
                event: Some(rt::Event {
                    r#type: event_type.to_owned(),
                    payload_json: payload_json.to_owned(),
                    audience: vec![invocation.bot_user_id.clone()],
                    ..Default::default()
                }),
            },
        ))
        .await?;
    Ok(state
        .webhooks_as(principal)
        .await_ack(pb::InvocationRef {
            id: invocation.id.clone(),
        })
        .await?
        .into_inner())
}

/// No such command: what was typed is posted as the invoker's message
/// (upstream's fallback, so a bot that only reads messages still sees it).
async fn post_as_typed(
    state: &AppState,
    principal: &Principal,
    channel_id: Option<String>,
    direct_conversation_id: Option<String>,
    input: InvokeBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let text = format!("{} {}", input.command, input.text)
        .trim()
        .to_owned();
    let posted = state
        .messaging_as(principal)
        .post_message(post_into(
            channel_id,
            direct_conversation_id,
            input.thread_root_id,
            text.clone(),
        ))
        .await?
        .into_inner();
    let message = render::message(state, &render::require(posted.message, "message")?).await?;
    let mut answer = json!({ "response_type": "in_channel", "text": text });
    with_reply(
        &mut answer,
        message,
        render::optional_event(posted.events.first()),
    );
    Ok((StatusCode::CREATED, Json(answer)))
}

/// A follow-up (or a socket invocation's acknowledgement): `{response_type?,
/// text?}`; an empty one only acknowledges. A button press's may instead be
/// `{replace_original: true, text?, actions?}`, which edits the pressed
/// message.
#[derive(Deserialize, Default, schemars::JsonSchema)]
pub struct ResponseBody {
    /// `in_channel` (default) or `ephemeral`.
    #[serde(default)]
    response_type: Option<String>,
    #[serde(default)]
    text: Option<String>,
    /// Edit the pressed message instead of replying (button presses only).
    #[serde(default)]
    replace_original: bool,
    /// With `replace_original`: the message's buttons from now on (`[]`
    /// removes them; left out, they stay).
    #[serde(default)]
    actions: Option<Vec<MessageAction>>,
}

/// `POST /api/command-responses/{token}` → 200 `{response_type, text,
/// message, event, invocation_id}`; 404 for a token never handed out (or
/// whose command is gone), 410 once its 15 minutes or 5 responses are
/// spent. The token is the credential, as Slack's `response_url`.
pub async fn respond(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body: ResponseBody = json_or_default(&body)?;
    follow_up(&state, token, body).await
}

/// `PATCH /api/command-responses/{token}` `{text?, actions?}`: edits the
/// pressed message, as a POST with `replace_original: true`.
pub async fn replace(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body: ResponseBody = json_or_default(&body)?;
    follow_up(
        &state,
        token,
        ResponseBody {
            replace_original: true,
            ..body
        },
    )
    .await
}

async fn follow_up(state: &AppState, token: String, body: ResponseBody) -> ApiResult<Json<Value>> {
    let answer = commands::answer(
        body.response_type.as_deref(),
        body.text.as_deref(),
        body.replace_original,
        body.actions,
    )
    .map_err(ApiError::bad_request)?;
    let invocation = state
        .webhooks()
        .redeem_response_token(pb::RedeemResponseTokenRequest {
            response_token: token,
            says_something: answer != Answer::Ack,
        })
        .await
        .map_err(|refusal| match refusal.code() {
            tonic::Code::FailedPrecondition => {
                ApiError::new(StatusCode::GONE, refusal.message().to_owned())
            }
            _ => refusal.into(),
        })?
        .into_inner();
    if matches!(answer, Answer::Replace(_)) && invocation.message_id.is_none() {
        return Err(ApiError::bad_request(
            "replace_original answers a button press; this token is a slash command's",
        ));
    }
    let reply = match answer {
        Answer::Ack => None,
        Answer::Reply(reply) => Some(pb::CommandReply {
            response_type: reply.visibility.as_str().to_owned(),
            text: reply.text,
            ..Default::default()
        }),
        Answer::Replace(replacement) => Some(pb::CommandReply {
            response_type: Visibility::InChannel.as_str().to_owned(),
            text: replacement.text.unwrap_or_default(),
            replace_original: true,
            set_actions: replacement.actions.is_some(),
            actions: render::actions_pb(replacement.actions.unwrap_or_default()),
        }),
    };
    let (message, event) = match &reply {
        Some(reply) => deliver(state, &invocation, reply).await?,
        None => (Value::Null, Value::Null),
    };
    let reply = reply.unwrap_or_default();
    let mut answer = json!({
        "response_type": if reply.response_type.is_empty() { Visibility::InChannel.as_str() } else { reply.response_type.as_str() },
        "text": reply.text,
        "invocation_id": invocation.id,
    });
    if reply.replace_original {
        answer["replace_original"] = json!(true);
    }
    with_reply(&mut answer, message, event);
    Ok(Json(answer))
}

/// The reply's message and event, when there were any (absent fields are
/// left out, never `null`).
fn with_reply(answer: &mut Value, message: Value, event: Value) {
    for (key, value) in [("message", message), ("event", event)] {
        if !value.is_null() {
            answer[key] = value;
        }
    }
}

/// `GET /api/slash-commands/{id}/invocations?limit=` → `{invocations}`,
/// newest first, for those who manage the command.
pub async fn list(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    if !ids::has_prefix(&id, ids::SLASH_COMMAND) {
        return Err(ApiError::not_found("slash command not found"));
    }
    list_of(&state, &principal, id, query).await
}

/// The invocations of a command (or interactivity endpoint) `id`.
pub(super) async fn list_of(
    state: &AppState,
    principal: &Principal,
    id: String,
    query: ListQuery,
) -> ApiResult<Json<Value>> {
    let list = state
        .webhooks_as(principal)
        .list_invocations(pb::ListInvocationsRequest {
            command_id: id,
            limit: query.limit.unwrap_or(50),
        })
        .await?
        .into_inner();
    let invocations: Vec<Value> = list
        .invocations
        .iter()
        .map(wire::command_invocation)
        .collect();
    Ok(Json(json!({ "invocations": invocations })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ListQuery {
    /// At most this many (1-100, default 50).
    limit: Option<u32>,
}
