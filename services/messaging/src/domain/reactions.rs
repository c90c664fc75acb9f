//! Reactions (one per user per emoji) and read receipts.

use super::access::{self, Intent};
use super::events::{self, EventDraft, text};
use super::rules;
use super::views;
use crate::error::{MessagingError, Result};
use crate::store::{reactions, receipts};
use clickclack_common::assertion::ActingUser;
use clickclack_common::outbox::RecordedEvent;
use diesel::{Connection, PgConnection};
use serde_json::json;

pub struct ReactionOutcome {
    pub event: Option<RecordedEvent>,
    pub reactions: Vec<views::Reaction>,
    pub changed: bool,
}

/// Adds (`add`) or removes a reaction; no event when nothing changed.
pub fn react(
    conn: &mut PgConnection,
    caller: &ActingUser,
    message_id: &str,
    emoji: &str,
    add: bool,
) -> Result<ReactionOutcome> {
    let emoji = rules::emoji(emoji)?;
    let (message, changed, event) = conn.transaction(|conn| -> Result<_> {
        let message = access::message(conn, caller, message_id, Intent::Write)?;
        if add && message.deleted_at.is_some() {
            return Err(MessagingError::Conflict(
                "cannot react to a deleted message".into(),
            ));
        }
        let changed = if add {
            reactions::add(conn, &message.id, &caller.user_id, &emoji)?
        } else {
            reactions::remove(conn, &message.id, &caller.user_id, &emoji)?
        };
        let event = if changed {
            let event_type = if add {
                "reaction.added"
            } else {
                "reaction.removed"
            };
            let audience = events::dm_audience(conn, message.conversation_id.as_deref())?;
            Some(events::record(
                conn,
                EventDraft::new(event_type, &caller.workspace_id)
                    .channel(message.channel_id.as_deref())
                    // The message's channel_seq (none for thread replies).
                    .seq(message.seq)
                    .audience(audience)
                    .with("message_id", json!(message.id))
                    .with("emoji", json!(emoji))
                    .with("user_id", json!(caller.user_id))
                    .with(
                        "direct_conversation_id",
                        text(message.conversation_id.as_deref()),
                    ),
            )?)
        } else {
            None
        };
        Ok((message, changed, event))
    })?;
    let rendered = views::message(conn, &caller.user_id, message)?;
    Ok(ReactionOutcome {
        event,
        reactions: rendered.reactions,
        changed,
    })
}

/// Where a read receipt points.
pub enum ReadTarget {
    Channel(String),
    Conversation(String),
}

/// Moves the caller's read position forward (capped at the newest seq).
pub fn mark_read(
    conn: &mut PgConnection,
    caller: &ActingUser,
    target: ReadTarget,
    seq: i64,
) -> Result<(views::ReadReceipt, RecordedEvent)> {
    if seq < 0 {
        return Err(MessagingError::Invalid("seq must not be negative".into()));
    }
    conn.transaction(|conn| {
        let (target_id, last_seq, is_channel) = match &target {
            ReadTarget::Channel(id) => {
                let channel = access::channel(conn, caller, id)?;
                (channel.id, channel.last_seq, true)
            }
            ReadTarget::Conversation(id) => {
                let conversation = access::conversation(conn, caller, id)?;
                (conversation.id, conversation.last_seq, false)
            }
        };
        let (seq, updated_at) =
            receipts::advance(conn, &caller.user_id, &target_id, seq.min(last_seq))?;
        let (channel_id, conversation_id) = if is_channel {
            (Some(target_id.clone()), None)
        } else {
            (None, Some(target_id.clone()))
        };
        let event = events::record(
            conn,
            EventDraft::new(
                if is_channel {
                    "channel.read"
                } else {
                    "dm.read"
                },
                &caller.workspace_id,
            )
            .channel(channel_id.as_deref())
            .seq(Some(seq))
            .audience(vec![caller.user_id.to_string()])
            .with("user_id", json!(caller.user_id))
            .with("seq", json!(seq))
            .with("channel_id", text(channel_id.as_deref()))
            .with("direct_conversation_id", text(conversation_id.as_deref())),
        )?;
        let receipt = views::ReadReceipt {
            target_id,
            user_id: caller.user_id.clone(),
            seq,
            read_at: updated_at,
            channel_id,
            conversation_id,
        };
        Ok((receipt, event))
    })
}
