//! The domain's answers in the protobuf shapes of the API (API.md §2–§7),
//! for the gRPC handlers. Timestamps become RFC 3339 text here.

use crate::domain::views;
use clickclack_common::actions::{self, MessageAction};
use clickclack_common::time::rfc3339;
use clickclack_proto::messaging as pb;

impl From<views::Message> for pb::Message {
    fn from(message: views::Message) -> pb::Message {
        let row = message.row;
        let thread_state = row.is_root().then(|| views::ThreadState::of(&row).into());
        pb::Message {
            id: row.id,
            workspace_id: row.workspace_id.into(),
            channel_id: row.channel_id,
            direct_conversation_id: row.conversation_id,
            author_id: row.author_id.into(),
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
            attachments: message.attachments.into_iter().map(Into::into).collect(),
            reactions: message.reactions.into_iter().map(Into::into).collect(),
            thread_state,
            turn_id: row.turn_id,
            quoted_body_snapshot: row.quoted_body_snapshot,
            quoted_author_id: row.quoted_author_id.map(String::from),
            actions: actions::to_pb(
                serde_json::from_value::<Vec<MessageAction>>(row.actions).unwrap_or_default(),
            ),
        }
    }
}

impl From<views::Reaction> for pb::ReactionSummary {
    fn from(reaction: views::Reaction) -> pb::ReactionSummary {
        pb::ReactionSummary {
            emoji: reaction.emoji,
            count: reaction.count,
            reacted_by_me: reaction.reacted_by_me,
        }
    }
}

impl From<views::ThreadState> for pb::ThreadState {
    fn from(state: views::ThreadState) -> pb::ThreadState {
        pb::ThreadState {
            root_message_id: state.root_message_id,
            reply_count: state.reply_count,
            last_reply_at: state.last_reply_at.as_ref().map(rfc3339),
            last_reply_author_ids: state
                .last_reply_author_ids
                .into_iter()
                .map(String::from)
                .collect(),
        }
    }
}

impl From<views::Upload> for pb::Upload {
    fn from(row: views::Upload) -> pb::Upload {
        pb::Upload {
            id: row.id,
            filename: row.filename,
            content_type: row.content_type,
            byte_size: row.byte_size,
            created_at: rfc3339(&row.created_at),
            workspace_id: row.workspace_id.into(),
            uploader_id: row.uploader_id.into(),
            nonce: row.nonce,
        }
    }
}

impl From<views::Channel> for pb::Channel {
    fn from(channel: views::Channel) -> pb::Channel {
        let row = channel.row;
        pb::Channel {
            route_id: row.name.clone(),
            unread_count: row.last_seq - channel.last_read_seq,
            last_read_seq: channel.last_read_seq,
            id: row.id,
            workspace_id: row.workspace_id.into(),
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
    }
}

impl From<views::Conversation> for pb::Conversation {
    fn from(conversation: views::Conversation) -> pb::Conversation {
        let row = conversation.row;
        pb::Conversation {
            route_id: row.id.clone(),
            can_send: conversation.can_send,
            member_ids: conversation
                .member_ids
                .into_iter()
                .map(String::from)
                .collect(),
            unread_count: row.last_seq - conversation.last_read_seq,
            last_read_seq: conversation.last_read_seq,
            id: row.id,
            workspace_id: row.workspace_id.into(),
            created_at: rfc3339(&row.created_at),
            last_seq: row.last_seq,
        }
    }
}

impl From<views::ReadReceipt> for pb::ReadReceipt {
    fn from(receipt: views::ReadReceipt) -> pb::ReadReceipt {
        let read_at = rfc3339(&receipt.read_at);
        pb::ReadReceipt {
            scope_id: receipt.target_id,
            user_id: receipt.user_id.into(),
            last_read_seq: receipt.seq,
            last_read_at: read_at.clone(),
            channel_id: receipt.channel_id,
            direct_conversation_id: receipt.conversation_id,
            seq: receipt.seq,
            updated_at: read_at,
        }
    }
}

impl From<views::SearchResults> for pb::SearchResults {
    fn from(results: views::SearchResults) -> pb::SearchResults {
        pb::SearchResults {
            results: results
                .hits
                .into_iter()
                .map(|hit| pb::SearchHit {
                    message: Some(hit.message.into()),
                    rank: hit.rank,
                    snippet: hit.snippet,
                })
                .collect(),
            next_cursor: results.next_cursor,
        }
    }
}

/// A list of domain answers as their protobuf shapes.
pub fn all<T: Into<P>, P>(items: Vec<T>) -> Vec<P> {
    items.into_iter().map(Into::into).collect()
}
