//! Slash-command rows.

use super::schema::slash_commands;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = slash_commands, check_for_backend(diesel::pg::Pg))]
pub struct SlashCommandRow {
    pub id: String,
    pub workspace_id: String,
    pub bot_user_id: String,
    /// Lower case, with its leading `/`.
    pub command: String,
    pub description: String,
    /// `url` or `socket`.
    pub delivery: String,
    pub callback_url: String,
    pub sealed_secret: Vec<u8>,
    pub previous_sealed_secret: Option<Vec<u8>>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Stores a new command; `None` when the workspace already has a live
/// command of that name.
pub fn insert(
    conn: &mut PgConnection,
    row: &SlashCommandRow,
) -> QueryResult<Option<SlashCommandRow>> {
    diesel::insert_into(slash_commands::table)
        .values(row)
        .on_conflict_do_nothing()
        .returning(SlashCommandRow::as_returning())
        .get_result(conn)
        .optional()
}

pub fn find(conn: &mut PgConnection, id: &str) -> QueryResult<Option<SlashCommandRow>> {
    slash_commands::table
        .find(id)
        .select(SlashCommandRow::as_select())
        .first(conn)
        .optional()
}

/// The live command of that name in the workspace.
pub fn live_named(
    conn: &mut PgConnection,
    workspace_id: &str,
    command: &str,
) -> QueryResult<Option<SlashCommandRow>> {
    slash_commands::table
        .filter(slash_commands::workspace_id.eq(workspace_id))
        .filter(slash_commands::command.eq(command))
        .filter(slash_commands::revoked_at.is_null())
        .select(SlashCommandRow::as_select())
        .first(conn)
        .optional()
}

/// A workspace's live commands, by name.
pub fn live_in(conn: &mut PgConnection, workspace_id: &str) -> QueryResult<Vec<SlashCommandRow>> {
    slash_commands::table
        .filter(slash_commands::workspace_id.eq(workspace_id))
        .filter(slash_commands::revoked_at.is_null())
        .order(slash_commands::command.asc())
        .select(SlashCommandRow::as_select())
        .load(conn)
}

revocable_signer!(slash_commands, SlashCommandRow);
