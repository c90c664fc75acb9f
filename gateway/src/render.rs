//! JSON answers built from messaging's replies: events get their payload as
//! an object, messages get their `author`, conversations their `members`.

use crate::error::ApiError;
use crate::state::AppState;
use clickclack_common::wire;
use clickclack_proto::messaging as pb;
use clickclack_proto::realtime as rt;
use serde_json::Value;
use std::collections::HashMap;

pub use clickclack_common::wire::event;

pub fn optional_event(event: Option<&rt::Event>) -> Value {
    event.map(self::event).unwrap_or(Value::Null)
}

fn missing(what: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::BAD_GATEWAY,
        format!("messaging returned no {what}"),
    )
}

/// The bounds of a page of messages, `oldest_seq` and `newest_seq`, each
/// omitted when the page is empty (unset fields are left out, never null).
pub fn page_bounds(body: &mut Value, oldest_seq: Option<i64>, newest_seq: Option<i64>) {
    for (key, seq) in [("oldest_seq", oldest_seq), ("newest_seq", newest_seq)] {
        if let Some(seq) = seq {
            body[key] = Value::from(seq);
        }
    }
}

pub fn require<T>(value: Option<T>, what: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| missing(what))
}

/// Messages with `author` filled in, from one directory lookup.
pub async fn messages(state: &AppState, messages: &[pb::Message]) -> Result<Vec<Value>, ApiError> {
    let mut people: Vec<String> = Vec::with_capacity(messages.len());
    for message in messages {
        people.push(message.author_id.clone());
        people.extend(message.quoted_author_id.clone());
    }
    let users = state.users.lookup(&state.identity(), people).await?;
    Ok(messages.iter().map(|m| message_with(m, &users)).collect())
}

pub async fn message(state: &AppState, message: &pb::Message) -> Result<Value, ApiError> {
    Ok(messages(state, std::slice::from_ref(message))
        .await?
        .remove(0))
}

fn message_with(message: &pb::Message, users: &HashMap<String, wire::User>) -> Value {
    let mut value = serde_json::to_value(message).expect("messages serialise");
    value["author"] = serde_json::to_value(users.get(&message.author_id)).expect("users serialise");
    if let Some(quoted) = message
        .quoted_author_id
        .as_ref()
        .and_then(|id| users.get(id))
    {
        value["quoted_author"] = serde_json::to_value(quoted).expect("users serialise");
    }
    value
}

/// Conversations with `members` filled in.
pub async fn conversations(
    state: &AppState,
    conversations: &[pb::Conversation],
) -> Result<Vec<Value>, ApiError> {
    let users = state
        .users
        .lookup(
            &state.identity(),
            conversations
                .iter()
                .flat_map(|c| c.member_ids.iter().cloned()),
        )
        .await?;
    Ok(conversations
        .iter()
        .map(|conversation| {
            let mut value = serde_json::to_value(conversation).expect("conversations serialise");
            let members: Vec<&wire::User> = conversation
                .member_ids
                .iter()
                .filter_map(|id| users.get(id))
                .collect();
            value["members"] = serde_json::to_value(members).expect("users serialise");
            value
        })
        .collect())
}

pub async fn conversation(
    state: &AppState,
    conversation: &pb::Conversation,
) -> Result<Value, ApiError> {
    Ok(conversations(state, std::slice::from_ref(conversation))
        .await?
        .remove(0))
}

/// A body's buttons as messaging takes them (it checks them).
pub use clickclack_common::actions::to_pb as actions_pb;
