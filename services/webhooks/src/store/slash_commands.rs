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
    /// `command`, or `actions` for a bot's interactivity endpoint.
    pub kind: String,
}

/// The kinds of row.
pub const KIND_COMMAND: &str = "command";
pub const KIND_ACTIONS: &str = "actions";

/// Stores a new command (or interactivity endpoint); `None` when the
/// workspace already has a live command of that name (or the bot a live
/// endpoint).
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
        .filter(slash_commands::kind.eq(KIND_COMMAND))
        .filter(slash_commands::revoked_at.is_null())
        .select(SlashCommandRow::as_select())
        .first(conn)
        .optional()
}

/// A workspace's live commands, by name.
pub fn live_in(conn: &mut PgConnection, workspace_id: &str) -> QueryResult<Vec<SlashCommandRow>> {
    slash_commands::table
        .filter(slash_commands::workspace_id.eq(workspace_id))
        .filter(slash_commands::kind.eq(KIND_COMMAND))
        .filter(slash_commands::revoked_at.is_null())
        .order(slash_commands::command.asc())
        .select(SlashCommandRow::as_select())
        .load(conn)
}

/// The bot's live interactivity endpoint.
pub fn live_interactivity(
    conn: &mut PgConnection,
    workspace_id: &str,
    bot_user_id: &str,
) -> QueryResult<Option<SlashCommandRow>> {
    slash_commands::table
        .filter(slash_commands::workspace_id.eq(workspace_id))
        .filter(slash_commands::bot_user_id.eq(bot_user_id))
        .filter(slash_commands::kind.eq(KIND_ACTIONS))
        .filter(slash_commands::revoked_at.is_null())
        .select(SlashCommandRow::as_select())
        .first(conn)
        .optional()
}

/// Makes `row` the bot's interactivity endpoint, revoking the one before
/// it, in one transaction.
pub fn replace_interactivity(
    conn: &mut PgConnection,
    row: &SlashCommandRow,
) -> QueryResult<SlashCommandRow> {
    conn.transaction(|conn| {
        diesel::update(
            slash_commands::table
                .filter(slash_commands::bot_user_id.eq(&row.bot_user_id))
                .filter(slash_commands::kind.eq(KIND_ACTIONS))
                .filter(slash_commands::revoked_at.is_null()),
        )
        .set(slash_commands::revoked_at.eq(Utc::now()))
        .execute(conn)?;
        diesel::insert_into(slash_commands::table)
            .values(row)
            .returning(SlashCommandRow::as_returning())
            .get_result(conn)
    })
}

revocable_signer!(slash_commands, SlashCommandRow);
