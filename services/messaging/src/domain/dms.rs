//! Direct-message conversations: one per member set in a workspace.

use super::{access, views};
use crate::error::{MessagingError, Result};
use crate::store::conversations::{self, ConversationRow};
use crate::store::violates;
use chrono::Utc;
use clickclack_common::assertion::ActingUser;
use clickclack_common::db::DbError;
use clickclack_common::ids::{self, UserId};
use diesel::{Connection, PgConnection};
use std::collections::BTreeSet;

/// Members of a DM, the caller included.
pub const MIN_MEMBERS: usize = 2;
pub const MAX_MEMBERS: usize = 32;

/// The member ids a request names, blanks skipped; anything that is not a
/// user id is refused.
pub fn member_ids(raw: &[String]) -> Result<Vec<UserId>> {
    raw.iter()
        .map(|id| id.trim())
        .filter(|id| !id.is_empty())
        .map(|id| {
            UserId::parse(id).ok_or_else(|| {
                MessagingError::Invalid(format!(
                    "member_ids: {:?} is not a user id",
                    id.chars().take(64).collect::<String>()
                ))
            })
        })
        .collect()
}

/// Finds or creates the conversation of exactly these members (plus the
/// caller). Member ids must already be checked to be workspace members.
pub fn open(
    conn: &mut PgConnection,
    caller: &ActingUser,
    member_ids: &[UserId],
) -> Result<(views::Conversation, bool)> {
    let mut members: BTreeSet<UserId> = member_ids.iter().cloned().collect();
    members.insert(caller.user_id.clone());
    if !(MIN_MEMBERS..=MAX_MEMBERS).contains(&members.len()) {
        return Err(MessagingError::Invalid(format!(
            "a conversation has {MIN_MEMBERS} to {MAX_MEMBERS} members, the caller included"
        )));
    }
    let members: Vec<UserId> = members.into_iter().collect();
    let key = members
        .iter()
        .map(UserId::as_str)
        .collect::<Vec<_>>()
        .join(",");

    let attempt = conn.transaction(|conn| -> Result<(ConversationRow, bool)> {
        if let Some(existing) = conversations::find_by_key(conn, &caller.workspace_id, &key)? {
            return Ok((existing, false));
        }
        let row = ConversationRow {
            id: ids::new_id(ids::DM),
            workspace_id: caller.workspace_id.clone(),
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
            let existing = conversations::find_by_key(conn, &caller.workspace_id, &key)?
                .ok_or_else(|| {
                    MessagingError::Conflict("conversation is being created; retry".into())
                })?;
            (existing, false)
        }
        other => other?,
    };
    // Opening a conversation the caller had hidden shows it again.
    conversations::set_hidden(conn, &row.id, &caller.user_id, None)?;
    let conversation = views::conversation(conn, &caller.user_id, row)?;
    Ok((conversation, created))
}

/// Shows a conversation the caller had hidden.
pub fn show(conn: &mut PgConnection, caller: &ActingUser, id: &str) -> Result<views::Conversation> {
    let row = access::conversation(conn, caller, id)?;
    conversations::set_hidden(conn, &row.id, &caller.user_id, None)?;
    Ok(views::conversation(conn, &caller.user_id, row)?)
}

/// Hides a conversation from the caller's list until its next message.
pub fn hide(conn: &mut PgConnection, caller: &ActingUser, id: &str) -> Result<()> {
    let row = access::conversation(conn, caller, id)?;
    conversations::set_hidden(conn, &row.id, &caller.user_id, Some(Utc::now()))?;
    Ok(())
}

pub fn list(conn: &mut PgConnection, caller: &ActingUser) -> Result<Vec<views::Conversation>> {
    let rows = conversations::list_for_member(conn, &caller.workspace_id, &caller.user_id)?;
    Ok(views::conversations(conn, &caller.user_id, rows)?)
}

pub fn get(conn: &mut PgConnection, caller: &ActingUser, id: &str) -> Result<views::Conversation> {
    let row = access::conversation(conn, caller, id)?;
    Ok(views::conversation(conn, &caller.user_id, row)?)
}

#[cfg(test)]
mod tests {
    use super::member_ids;

    #[test]
    fn member_ids_skip_blanks_and_refuse_what_is_not_a_user_id() {
        let ids = member_ids(&[" usr_a1 ".into(), "".into(), "usr_b2".into()]).unwrap();
        assert_eq!(ids, ["usr_a1", "usr_b2"]);
        let refused = member_ids(&["usr_a1".into(), "wsp_x".into()]).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "member_ids: \"wsp_x\" is not a user id"
        );
    }
}
