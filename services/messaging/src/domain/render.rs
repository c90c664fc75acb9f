//! Turns rows into the protobuf shapes of API.md, loading reactions and
//! attachments for a whole batch at once.

use crate::store::channels::ChannelRow;
use crate::store::conversations::ConversationRow;
use crate::store::messages::MessageRow;
use crate::store::uploads::UploadRow;
use crate::store::{reactions, receipts, uploads};
use clickclack_common::time::rfc3339;
use clickclack_proto::messaging as pb;
use diesel::{PgConnection, QueryResult};
use std::collections::{HashMap, HashSet};

pub fn messages(
    conn: &mut PgConnection,
    viewer: &str,
    rows: Vec<MessageRow>,
) -> QueryResult<Vec<pb::Message>> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let mut attachments: HashMap<String, Vec<pb::Upload>> = HashMap::new();
    for (message_id, upload) in uploads::attachments_of(conn, &ids)? {
        attachments
            .entry(message_id)
            .or_default()
            .push(upload_pb(upload));
    }
    let mine: HashSet<(String, String)> =
        reactions::mine(conn, &ids, viewer)?.into_iter().collect();
    let mut summaries: HashMap<String, Vec<pb::ReactionSummary>> = HashMap::new();
    for (message_id, emoji, count) in reactions::counts(conn, &ids)? {
        let reacted_by_me = mine.contains(&(message_id.clone(), emoji.clone()));
        summaries
            .entry(message_id)
            .or_default()
            .push(pb::ReactionSummary {
                emoji,
                count,
                reacted_by_me,
            });
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let attachments = attachments.remove(&row.id).unwrap_or_default();
            let reactions = summaries.remove(&row.id).unwrap_or_default();
            message_pb(row, attachments, reactions)
        })
        .collect())
}

pub fn message(conn: &mut PgConnection, viewer: &str, row: MessageRow) -> QueryResult<pb::Message> {
    Ok(messages(conn, viewer, vec![row])?.remove(0))
}

/// A message inserted in this transaction: it has no attachments or
/// reactions yet, so rendering it needs no query (the channel's row lock
/// is still held; every round trip saved is one less for other writers).
pub fn new_message(row: MessageRow) -> pb::Message {
    message_pb(row, Vec::new(), Vec::new())
}

pub fn thread_state(row: &MessageRow) -> pb::ThreadState {
    pb::ThreadState {
        root_message_id: row.id.clone(),
        reply_count: row.reply_count,
        last_reply_at: row.last_reply_at.as_ref().map(rfc3339),
        last_reply_author_ids: row.last_reply_author_ids.clone(),
    }
}

fn message_pb(
    row: MessageRow,
    attachments: Vec<pb::Upload>,
    reactions: Vec<pb::ReactionSummary>,
) -> pb::Message {
    let thread_state = row.is_root().then(|| thread_state(&row));
    pb::Message {
        id: row.id,
        workspace_id: row.workspace_id,
        channel_id: row.channel_id,
        direct_conversation_id: row.conversation_id,
        author_id: row.author_id,
        body: row.body,
        body_format: "markdown".into(),
        kind: row.kind,
        channel_seq: row.seq,
        thread_root_id: row.thread_root_id,
        parent_message_id: row.parent_message_id,
        thread_seq: row.thread_seq,
        quoted_message_id: row.quoted_message_id,
        nonce: row.nonce,
        created_at: rfc3339(&row.created_at),
        edited_at: row.edited_at.as_ref().map(rfc3339),
        deleted_at: row.deleted_at.as_ref().map(rfc3339),
        attachments,
        reactions,
        thread_state,
        turn_id: row.turn_id,
        quoted_body_snapshot: row.quoted_body_snapshot,
        quoted_author_id: row.quoted_author_id,
    }
}

pub fn upload_pb(row: UploadRow) -> pb::Upload {
    pb::Upload {
        id: row.id,
        filename: row.filename,
        content_type: row.content_type,
        byte_size: row.byte_size,
        created_at: rfc3339(&row.created_at),
        workspace_id: row.workspace_id,
        uploader_id: row.uploader_id,
        nonce: row.nonce,
    }
}

/// Channels with the viewer's read position.
pub fn channels(
    conn: &mut PgConnection,
    viewer: &str,
    rows: Vec<ChannelRow>,
) -> QueryResult<Vec<pb::Channel>> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let read: HashMap<String, i64> = receipts::positions(conn, viewer, &ids)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let last_read_seq = read.get(&row.id).copied().unwrap_or(0).min(row.last_seq);
            pb::Channel {
                route_id: row.name.clone(),
                unread_count: row.last_seq - last_read_seq,
                last_read_seq,
                id: row.id,
                workspace_id: row.workspace_id,
                name: row.name,
                display_title: row.display_title,
                kind: row.kind,
                created_at: rfc3339(&row.created_at),
                archived_at: row.archived_at.as_ref().map(rfc3339),
                external_managed: row.external_managed,
                external_ref: row.external_ref,
                external_url: row.external_url,
                sidebar_section: row.sidebar_section,
                last_seq: row.last_seq,
            }
        })
        .collect())
}

pub fn channel(conn: &mut PgConnection, viewer: &str, row: ChannelRow) -> QueryResult<pb::Channel> {
    Ok(channels(conn, viewer, vec![row])?.remove(0))
}

/// Conversations with their member ids and the viewer's read position.
pub fn conversations(
    conn: &mut PgConnection,
    viewer: &str,
    rows: Vec<ConversationRow>,
) -> QueryResult<Vec<pb::Conversation>> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
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
            let last_read_seq = read.get(&row.id).copied().unwrap_or(0).min(row.last_seq);
            pb::Conversation {
                route_id: row.id.clone(),
                can_send: member_ids.iter().any(|m| m == viewer),
                member_ids,
                unread_count: row.last_seq - last_read_seq,
                last_read_seq,
                id: row.id,
                workspace_id: row.workspace_id,
                created_at: rfc3339(&row.created_at),
                last_seq: row.last_seq,
            }
        })
        .collect())
}
