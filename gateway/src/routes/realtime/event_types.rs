//! `GET /api/event-types`: the catalogue of every event a client can
//! receive, durable or ephemeral (API.md §8).

use crate::error::ApiResult;
use crate::principal::Principal;
use axum::Json;
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /api/event-types` → `{event_types: [{type, durable, description}]}`.
/// Any signed-in caller may read it.
pub async fn event_types(_principal: Arc<Principal>) -> ApiResult<Json<Value>> {
    let types: Vec<Value> = EVENT_TYPES
        .iter()
        .map(|(kind, durable, description)| {
            json!({ "type": kind, "durable": durable, "description": description })
        })
        .collect();
    Ok(Json(json!({ "event_types": types })))
}

/// Every event a client can receive (API.md §8).
const EVENT_TYPES: &[(&str, bool, &str)] = &[
    (
        "message.created",
        true,
        "A top-level message was posted in a channel or DM.",
    ),
    ("message.updated", true, "A message's body was edited."),
    (
        "message.deleted",
        true,
        "A message was deleted (its body is cleared).",
    ),
    (
        "thread.reply_created",
        true,
        "A reply was posted in a thread.",
    ),
    (
        "thread.state_updated",
        true,
        "A thread's reply count or last reply changed.",
    ),
    ("reaction.added", true, "Someone reacted to a message."),
    ("reaction.removed", true, "Someone removed their reaction."),
    ("channel.created", true, "A channel was created."),
    (
        "channel.updated",
        true,
        "A channel was renamed, archived or relabelled.",
    ),
    (
        "channel.read",
        true,
        "The reader's read position moved (private to them).",
    ),
    (
        "dm.read",
        true,
        "The reader's DM read position moved (private to them).",
    ),
    (
        "member.joined",
        true,
        "A human or bot joined the workspace.",
    ),
    ("member.removed", true, "A member left or was removed."),
    (
        "workspace.updated",
        true,
        "The workspace's name, slug, icon or owner changed.",
    ),
    (
        "typing.started",
        false,
        "Someone started typing (ephemeral).",
    ),
    (
        "typing.stopped",
        false,
        "Someone stopped typing (ephemeral).",
    ),
    (
        "presence.changed",
        false,
        "Someone's presence changed (ephemeral).",
    ),
    (
        "agent.progress",
        false,
        "A bot reports progress on a task (ephemeral).",
    ),
    (
        "bot_command.updated",
        false,
        "A bot published a new command menu (live only).",
    ),
    (
        "bot.membership_removed",
        false,
        "A bot was removed from the workspace (live only).",
    ),
];
