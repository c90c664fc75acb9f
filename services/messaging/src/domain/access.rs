//! Who may see what. Every lookup is scoped to the caller's workspace (from
//! the signed assertion) and, for DMs, to the conversation's members, so
//! anything outside that answers "not found" and reveals nothing.

use crate::error::{MessagingError, Result};
use crate::store::channels::{self, ChannelRow};
use crate::store::conversations::{self, ConversationRow};
use crate::store::messages::{self, MessageRow};
use clickclack_common::assertion::ActingUser;
use clickclack_common::ids::ResourceId;
use clickclack_common::scopes::Scope;
use diesel::PgConnection;

/// Whether a message is being read or changed; DMs need the matching
/// `dms:*` scope on top of the message scope (API.md §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Read,
    Write,
}

pub fn channel(conn: &mut PgConnection, caller: &ActingUser, id: &str) -> Result<ChannelRow> {
    channels::find_in_workspace(conn, id, &caller.workspace_id)?
        .ok_or_else(|| MessagingError::NotFound(format!("channel {id} not found")))
}

pub fn conversation(
    conn: &mut PgConnection,
    caller: &ActingUser,
    id: &str,
) -> Result<ConversationRow> {
    conversations::find_for_member(conn, id, &caller.workspace_id, &caller.user_id)?
        .ok_or_else(|| MessagingError::NotFound(format!("conversation {id} not found")))
}

pub fn message(
    conn: &mut PgConnection,
    caller: &ActingUser,
    id: &str,
    intent: Intent,
) -> Result<MessageRow> {
    let not_found = || MessagingError::NotFound(format!("message {id} not found"));
    let message =
        messages::find_in_workspace(conn, id, &caller.workspace_id)?.ok_or_else(not_found)?;
    if let Some(conversation_id) = &message.conversation_id {
        conversation(conn, caller, conversation_id).map_err(|_| not_found())?;
        let needed = match intent {
            Intent::Read => Scope::DmsRead,
            Intent::Write => Scope::DmsWrite,
        };
        if !caller.has_scope(needed) {
            return Err(MessagingError::Forbidden(format!(
                "this token lacks the {needed} scope"
            )));
        }
    }
    Ok(message)
}

/// The workspace a channel, message, DM or upload lives in, by its id
/// (`None` when unknown). The gateway asks before it checks the caller.
pub fn workspace_of(conn: &mut PgConnection, id: &str) -> Result<Option<String>> {
    match ResourceId::parse(id.trim()) {
        Some(resource) => Ok(crate::store::locate::workspace_of(conn, resource)?),
        None => Ok(None),
    }
}

/// Posting needs a live channel.
pub fn ensure_not_archived(channel: &ChannelRow) -> Result<()> {
    if channel.archived_at.is_some() {
        return Err(MessagingError::Conflict(format!(
            "channel {} is archived",
            channel.name
        )));
    }
    Ok(())
}
