//! Direct-message conversations: one per member set in a workspace.

use super::{access, views};
use crate::error::{MessagingError, Result};
use crate::store::conversations::{self, ConversationRow};
use crate::store::violates;
use chrono::Utc;
use clickclack_common::assertion::Claims;
use clickclack_common::db::DbError;
use clickclack_common::ids;
use diesel::{Connection, PgConnection};
use std::collections::BTreeSet;

/// Members of a DM, the caller included.
pub const MIN_MEMBERS: usize = 2;
pub const MAX_MEMBERS: usize = 32;

/// Finds or creates the conversation of exactly these members (plus the
/// caller). Member ids must already be checked to be workspace members.
pub fn open(
    conn: &mut PgConnection,
    caller: &Claims,
    member_ids: &[String],
) -> Result<(views::Conversation, bool)> {
    let mut members: BTreeSet<String> = member_ids
        .iter()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .collect();
    members.insert(caller.sub.clone());
    if !(MIN_MEMBERS..=MAX_MEMBERS).contains(&members.len()) {
        return Err(MessagingError::Invalid(format!(
            "a conversation has {MIN_MEMBERS} to {MAX_MEMBERS} members, the caller included"
        )));
    }
    let members: Vec<String> = members.into_iter().collect();
    let key = members.join(",");

    let attempt = conn.transaction(|conn| -> Result<(ConversationRow, bool)> {
        if let Some(existing) = conversations::find_by_key(conn, &caller.wsp, &key)? {
            return Ok((existing, false));
        }
        let row = ConversationRow {
            id: ids::new_id(ids::DM),
            workspace_id: caller.wsp.clone(),
            member_key: key.clone(),
            created_at: Utc::now(),
            last_seq: 0,
        };
        Ok((conversations::insert(conn, &row, &members)?, true))
    });
    let (row, created) = match attempt {
        // Two callers opened the same conversation at once: take theirs.
        Err(MessagingError::Db(DbError::Query(ref e)))
            if violates(e, "conversations_workspace_id_member_key_key") =>
        {
            let existing =
                conversations::find_by_key(conn, &caller.wsp, &key)?.ok_or_else(|| {
                    MessagingError::Conflict("conversation is being created; retry".into())
                })?;
            (existing, false)
        }
        other => other?,
    };
    // Opening a conversation the caller had hidden shows it again.
    conversations::set_hidden(conn, &row.id, &caller.sub, None)?;
    let conversation = views::conversation(conn, &caller.sub, row)?;
    Ok((conversation, created))
}

/// Shows a conversation the caller had hidden.
pub fn show(conn: &mut PgConnection, caller: &Claims, id: &str) -> Result<views::Conversation> {
    let row = access::conversation(conn, caller, id)?;
    conversations::set_hidden(conn, &row.id, &caller.sub, None)?;
    Ok(views::conversation(conn, &caller.sub, row)?)
}

/// Hides a conversation from the caller's list until its next message.
pub fn hide(conn: &mut PgConnection, caller: &Claims, id: &str) -> Result<()> {
    let row = access::conversation(conn, caller, id)?;
    conversations::set_hidden(conn, &row.id, &caller.sub, Some(Utc::now()))?;
    Ok(())
}

pub fn list(conn: &mut PgConnection, caller: &Claims) -> Result<Vec<views::Conversation>> {
    let rows = conversations::list_for_member(conn, &caller.wsp, &caller.sub)?;
    Ok(views::conversations(conn, &caller.sub, rows)?)
}

pub fn get(conn: &mut PgConnection, caller: &Claims, id: &str) -> Result<views::Conversation> {
    let row = access::conversation(conn, caller, id)?;
    Ok(views::conversation(conn, &caller.sub, row)?)
}
