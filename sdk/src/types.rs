//! Wire types of `API.md`. Every struct is tolerant: unknown keys are
//! ignored and missing keys take their default, so a newer or older server
//! does not break a bot over a field it does not use. Lists that a server
//! might send as `null` read as empty.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Reads `null` as the type's default (serde's `default` only covers a
/// missing key).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A human or a bot (`GET /api/me`, and `author` on messages).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    pub id: String,
    /// `"human"` or `"bot"`.
    pub kind: String,
    pub display_name: String,
    pub handle: String,
    pub avatar_url: Option<String>,
    pub created_at: String,
    /// Set only for user-owned bots.
    pub owner_user_id: Option<String>,
}

impl User {
    pub fn is_bot(&self) -> bool {
        self.kind == "bot"
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Workspace {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub route_id: String,
    pub icon_url: Option<String>,
    pub created_at: String,
    /// The caller's role: `owner`, `moderator`, `member`, `guest` or `bot`.
    pub role: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Channel {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub display_title: Option<String>,
    pub kind: String,
    pub route_id: String,
    pub created_at: String,
    pub archived_at: Option<String>,
    pub external_managed: bool,
    pub external_ref: Option<String>,
    pub external_url: Option<String>,
    pub sidebar_section: Option<String>,
    pub last_seq: i64,
    pub last_read_seq: i64,
    pub unread_count: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThreadState {
    pub root_message_id: String,
    pub reply_count: i64,
    pub last_reply_at: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub last_reply_author_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reaction {
    pub emoji: String,
    pub count: i64,
    pub reacted_by_me: bool,
}

/// A channel message, DM message or thread reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    pub id: String,
    pub workspace_id: String,
    pub channel_id: Option<String>,
    pub direct_conversation_id: Option<String>,
    pub author_id: String,
    pub author: Option<User>,
    pub body: String,
    pub body_format: String,
    pub kind: String,
    /// Position among the channel's top-level messages; replies have none.
    pub channel_seq: Option<i64>,
    /// Equals `id` for a top-level message.
    pub thread_root_id: String,
    /// Set on replies (equal to `thread_root_id`).
    pub parent_message_id: Option<String>,
    pub thread_seq: Option<i64>,
    pub quoted_message_id: Option<String>,
    pub nonce: Option<String>,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub deleted_at: Option<String>,
    /// Upload records; kept as JSON since bots rarely need their fields.
    #[serde(deserialize_with = "null_as_default")]
    pub attachments: Vec<Value>,
    #[serde(deserialize_with = "null_as_default")]
    pub reactions: Vec<Reaction>,
    pub thread_state: Option<ThreadState>,
}

impl Message {
    /// The root of the thread this message belongs to (itself when it is a
    /// top-level message).
    pub fn root_id(&self) -> &str {
        if self.thread_root_id.is_empty() {
            &self.id
        } else {
            &self.thread_root_id
        }
    }

    pub fn is_reply(&self) -> bool {
        self.parent_message_id.is_some()
    }
}

/// Event types of `API.md` §8 that bots commonly branch on.
pub mod event_types {
    pub const MESSAGE_CREATED: &str = "message.created";
    pub const MESSAGE_UPDATED: &str = "message.updated";
    pub const MESSAGE_DELETED: &str = "message.deleted";
    pub const THREAD_REPLY_CREATED: &str = "thread.reply_created";
    pub const THREAD_STATE_UPDATED: &str = "thread.state_updated";
    pub const REACTION_ADDED: &str = "reaction.added";
    pub const REACTION_REMOVED: &str = "reaction.removed";
    pub const CHANNEL_CREATED: &str = "channel.created";
    pub const CHANNEL_UPDATED: &str = "channel.updated";
    pub const MEMBER_JOINED: &str = "member.joined";
    pub const MEMBER_REMOVED: &str = "member.removed";
}

/// A realtime event. Durable events have a `cur_...` cursor; ephemeral ones
/// (typing, presence, progress) and a few live-only ones have `cursor: ""`.
/// Payloads never carry message bodies: fetch the message by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    pub id: String,
    pub cursor: String,
    /// The event type (`type` on the wire), e.g. `message.created`.
    #[serde(rename = "type")]
    pub kind: String,
    pub workspace_id: String,
    pub channel_id: Option<String>,
    pub seq: Option<i64>,
    pub created_at: String,
    pub payload: Value,
}

impl Event {
    /// True for events that are never stored and never replayed.
    pub fn is_ephemeral(&self) -> bool {
        self.cursor.is_empty()
    }

    /// A string field of the payload.
    pub fn payload_str(&self, key: &str) -> Option<&str> {
        self.payload.get(key).and_then(Value::as_str)
    }

    /// `payload.message_id` (message, thread and reaction events).
    pub fn message_id(&self) -> Option<&str> {
        self.payload_str("message_id")
    }

    /// `payload.author_id` (`message.created`, `thread.reply_created`).
    pub fn author_id(&self) -> Option<&str> {
        self.payload_str("author_id")
    }

    /// `payload.root_message_id` (thread events).
    pub fn root_message_id(&self) -> Option<&str> {
        self.payload_str("root_message_id")
    }

    /// True for `message.created` and `thread.reply_created`.
    pub fn is_new_message(&self) -> bool {
        self.kind == event_types::MESSAGE_CREATED || self.kind == event_types::THREAD_REPLY_CREATED
    }
}

/// `GET /api/realtime/events`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventPage {
    #[serde(deserialize_with = "null_as_default")]
    pub events: Vec<Event>,
    /// The newest visible cursor (`""` for an empty log); only when asked.
    pub tail_cursor: Option<String>,
}

/// `GET /api/channels/{id}/messages`: top-level messages, ascending.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessagePage {
    #[serde(deserialize_with = "null_as_default")]
    pub messages: Vec<Message>,
    pub oldest_seq: Option<i64>,
    pub newest_seq: Option<i64>,
    pub has_older: bool,
    pub has_newer: bool,
}

/// `GET /api/messages/{id}/thread`: the root and a page of its replies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thread {
    pub root: Message,
    #[serde(deserialize_with = "null_as_default")]
    pub replies: Vec<Message>,
    pub thread_state: Option<ThreadState>,
    pub oldest_seq: Option<i64>,
    pub newest_seq: Option<i64>,
    pub has_older: bool,
    pub has_newer: bool,
}

/// What a post or a thread reply returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Posted {
    pub message: Message,
    /// False when the nonce matched an earlier post: `message` is that
    /// original and no new event was emitted.
    pub created: bool,
    /// The durable events the post emitted (empty on a nonce replay).
    pub events: Vec<Event>,
    /// Replies only: the root's updated thread state.
    pub thread_state: Option<ThreadState>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_types_tolerate_missing_extra_and_null_keys() {
        let message: Message = serde_json::from_value(json!({
            "id": "msg_1",
            "body": "hi",
            "attachments": null,
            "reactions": [{"emoji": "+1", "count": 2, "surprise": true}],
            "some_future_field": {"x": 1},
        }))
        .unwrap();
        assert_eq!(message.id, "msg_1");
        assert_eq!(message.root_id(), "msg_1");
        assert!(message.attachments.is_empty());
        assert_eq!(message.reactions[0].count, 2);
        assert!(!message.is_reply());

        let event: Event = serde_json::from_value(json!({
            "id": "evt_1",
            "cursor": "cur_01",
            "type": "thread.reply_created",
            "payload": {"message_id": "msg_2", "root_message_id": "msg_1", "author_id": "usr_a"},
        }))
        .unwrap();
        assert_eq!(event.kind, "thread.reply_created");
        assert_eq!(event.root_message_id(), Some("msg_1"));
        assert_eq!(event.author_id(), Some("usr_a"));
        assert!(event.is_new_message());
        assert!(!event.is_ephemeral());

        let ephemeral: Event =
            serde_json::from_value(json!({"id": "eph_1", "type": "typing.started"})).unwrap();
        assert!(ephemeral.is_ephemeral());
        assert_eq!(ephemeral.message_id(), None);
    }
}
