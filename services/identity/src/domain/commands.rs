//! Bots' slash-command menus (API.md §10): a bot publishes its own menu;
//! every member can read the workspace's menus.

use super::resolve_workspace;
use crate::error::{IdentityError, Result};
use crate::store::commands::{self, BotCommandRow};
use crate::store::members;
use chrono::Utc;
use clickclack_common::ids;
use clickclack_common::ids::{UserId, WorkspaceId, WorkspaceKey};
use diesel::{Connection, PgConnection};
use std::collections::HashSet;

pub const MAX_COMMANDS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 100;
const MAX_ARGS_HINT_CHARS: usize = 100;

/// One entry as a bot sent it.
pub struct CommandInput {
    pub command: String,
    pub description: String,
    pub args_hint: Option<String>,
}

/// Replaces the bot's menu; an empty list clears it.
pub fn set_commands(
    conn: &mut PgConnection,
    bot_user_id: &UserId,
    workspace_id: &WorkspaceId,
    input: Vec<CommandInput>,
) -> Result<Vec<BotCommandRow>> {
    if input.len() > MAX_COMMANDS {
        return Err(IdentityError::Invalid(format!(
            "a bot may register at most {MAX_COMMANDS} commands"
        )));
    }
    let now = Utc::now();
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(input.len());
    for (position, entry) in input.into_iter().enumerate() {
        let command = normalize_command(&entry.command)?;
        if !seen.insert(command.clone()) {
            return Err(IdentityError::Invalid(format!(
                "command {command} is listed twice"
            )));
        }
        let description = entry.description.trim().to_owned();
        if description.is_empty() || description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(IdentityError::Invalid(format!(
                "command {command} needs a description of 1-{MAX_DESCRIPTION_CHARS} characters"
            )));
        }
        let args_hint = entry
            .args_hint
            .map(|hint| hint.trim().to_owned())
            .filter(|hint| !hint.is_empty());
        if args_hint
            .as_ref()
            .is_some_and(|hint| hint.chars().count() > MAX_ARGS_HINT_CHARS)
        {
            return Err(IdentityError::Invalid(format!(
                "args_hint of {command} must be at most {MAX_ARGS_HINT_CHARS} characters"
            )));
        }
        rows.push(BotCommandRow {
            bot_user_id: bot_user_id.clone(),
            workspace_id: workspace_id.clone(),
            position: position as i32,
            command,
            description,
            args_hint,
            updated_at: now,
            id: ids::new_id(ids::BOT_COMMAND),
            created_at: now,
        });
    }
    conn.transaction(|conn| {
        // The store is the final guard: a removed bot cannot publish a menu.
        if members::find(conn, workspace_id, bot_user_id)?.is_none() {
            return Err(IdentityError::Forbidden(
                "this bot is no longer a member of its workspace".into(),
            ));
        }
        // A command the bot already had keeps its id and creation time.
        let before = commands::list_for_bot(conn, bot_user_id, workspace_id)?;
        for row in &mut rows {
            if let Some(old) = before.iter().find(|old| old.command == row.command) {
                row.id = old.id.clone();
                row.created_at = old.created_at;
            }
        }
        commands::replace(conn, bot_user_id, workspace_id, &rows)?;
        Ok(commands::list_for_bot(conn, bot_user_id, workspace_id)?)
    })
}

pub fn list_commands(
    conn: &mut PgConnection,
    workspace_key: &WorkspaceKey,
) -> Result<Vec<BotCommandRow>> {
    let workspace = resolve_workspace(conn, workspace_key)?;
    Ok(commands::list_in_workspace(conn, &workspace.id)?)
}

/// Lowercase with one leading `/` (`clickclack_common::commands`).
fn normalize_command(raw: &str) -> Result<String> {
    clickclack_common::commands::normalize_command(raw).map_err(IdentityError::Invalid)
}
