//! What the domain answers: rows together with what a caller sees of them
//! (their read position, a message's attachments and reactions), loaded for
//! a whole batch at once. These are the service's own types; `crate::wire`
//! turns them into the protobuf shapes of the API, so the domain knows
//! nothing of protobuf beyond the events it records.

use crate::store::channels::ChannelRow;
use crate::store::conversations::ConversationRow;
use crate::store::messages::MessageRow;
use crate::store::{reactions, receipts, uploads};
use chrono::{DateTime, Utc};
use clickclack_common::ids::UserId;
use diesel::{PgConnection, QueryResult};
use std::collections::{HashMap, HashSet};

pub use crate::store::uploads::UploadRow as Upload;

/// A channel with the viewer's read position.
pub struct Channel {
    pub row: ChannelRow,
    /// Never past the channel's last message.
    pub last_read_seq: i64,
}

/// A DM with its members and the viewer's read position.
pub struct Conversation {
    pub row: ConversationRow,
    pub member_ids: Vec<UserId>,
    pub last_read_seq: i64,
    /// Whether the viewer is a member (and so may post).
    pub can_send: bool,
}

/// A message with its attachments and reactions as the viewer sees them.
pub struct Message {
    pub row: MessageRow,
    pub attachments: Vec<Upload>,
    pub reactions: Vec<Reaction>,
}

/// One emoji on a message: how many reacted, and whether the viewer did.
pub struct Reaction {
    pub emoji: String,
    pub count: i64,
    pub reacted_by_me: bool,
}

/// Where a thread stands, as its root row records it.
pub struct ThreadState {
    pub root_message_id: String,
    pub reply_count: i64,
    pub last_reply_at: Option<DateTime<Utc>>,
    pub last_reply_author_ids: Vec<UserId>,
}

impl ThreadState {
    pub fn of(root: &MessageRow) -> ThreadState {
        ThreadState {
            root_message_id: root.id.clone(),
            reply_count: root.reply_count,
            last_reply_at: root.last_reply_at,
            last_reply_author_ids: root.last_reply_author_ids.clone(),
        }
    }
}

/// How far a member has read a channel or DM.
pub struct ReadReceipt {
    /// The channel or DM.
    pub target_id: String,
    pub user_id: UserId,
    pub seq: i64,
    pub read_at: DateTime<Utc>,
    pub channel_id: Option<String>,
    pub conversation_id: Option<String>,
}

/// One search hit: the message, its rank and a highlighted snippet.
pub struct SearchHit {
    pub message: Message,
    pub rank: f64,
    pub snippet: String,
}

pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub next_cursor: Option<String>,
}

pub fn messages(
    conn: &mut PgConnection,
    viewer: &UserId,
    rows: Vec<MessageRow>,
) -> QueryResult<Vec<Message>> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let mut attachments: HashMap<String, Vec<Upload>> = HashMap::new();
    for (message_id, upload) in uploads::attachments_of(conn, &ids)? {
        attachments.entry(message_id).or_default().push(upload);
    }
    let mine: HashSet<(String, String)> =
        reactions::mine(conn, &ids, viewer)?.into_iter().collect();
    let mut summaries: HashMap<String, Vec<Reaction>> = HashMap::new();
    for (message_id, emoji, count) in reactions::counts(conn, &ids)? {
        let reacted_by_me = mine.contains(&(message_id.clone(), emoji.clone()));
        summaries.entry(message_id).or_default().push(Reaction {
            emoji,
            count,
            reacted_by_me,
        });
    }
    Ok(rows
        .into_iter()
        .map(|row| Message {
            attachments: attachments.remove(&row.id).unwrap_or_default(),
            reactions: summaries.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

pub fn message(conn: &mut PgConnection, viewer: &UserId, row: MessageRow) -> QueryResult<Message> {
    Ok(messages(conn, viewer, vec![row])?.remove(0))
}

/// A message inserted in this transaction: it has no attachments or
/// reactions yet, so showing it needs no query (the channel's row lock
/// is still held; every round trip saved is one less for other writers).
pub fn new_message(row: MessageRow) -> Message {
    Message {
        row,
        attachments: Vec::new(),
        reactions: Vec::new(),
    }
}

/// Channels with the viewer's read position.
pub fn channels(
    conn: &mut PgConnection,
    viewer: &UserId,
    rows: Vec<ChannelRow>,
) -> QueryResult<Vec<Channel>> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let read: HashMap<String, i64> = receipts::positions(conn, viewer, &ids)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| Channel {
            last_read_seq: read.get(&row.id).copied().unwrap_or(0).min(row.last_seq),
            row,
        })
        .collect())
}

pub fn channel(conn: &mut PgConnection, viewer: &UserId, row: ChannelRow) -> QueryResult<Channel> {
    Ok(channels(conn, viewer, vec![row])?.remove(0))
}

/// Conversations with their member ids and the viewer's read position.
pub fn conversations(
    conn: &mut PgConnection,
    viewer: &UserId,
    rows: Vec<ConversationRow>,
) -> QueryResult<Vec<Conversation>> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let mut members: HashMap<String, Vec<UserId>> = HashMap::new();
    for (conversation_id, user_id) in crate::store::conversations::members_of(conn, &ids)? {
        members.entry(conversation_id).or_default().push(user_id);
    }
    let read: HashMap<String, i64> = receipts::positions(conn, viewer, &ids)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let member_ids = members.remove(&row.id).unwrap_or_default();
            Conversation {
                can_send: member_ids.iter().any(|m| m == viewer),
                member_ids,
                last_read_seq: read.get(&row.id).copied().unwrap_or(0).min(row.last_seq),
                row,
            }
        })
        .collect())
}

pub fn conversation(
    conn: &mut PgConnection,
    viewer: &UserId,
    row: ConversationRow,
) -> QueryResult<Conversation> {
    Ok(conversations(conn, viewer, vec![row])?.remove(0))
}
