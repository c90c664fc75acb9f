//! Bots' slash-command menus.

use super::schema::{bot_commands, users};
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bot_commands, check_for_backend(diesel::pg::Pg))]
pub struct BotCommandRow {
    pub bot_user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub position: i32,
    pub command: String,
    pub description: String,
    pub args_hint: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub id: String,
    pub created_at: DateTime<Utc>,
}

/// Replaces one bot's menu in a workspace.
pub fn replace(
    conn: &mut PgConnection,
    bot_user_id: &UserId,
    workspace_id: &WorkspaceId,
    rows: &[BotCommandRow],
) -> QueryResult<()> {
    delete_for_bot(conn, bot_user_id, workspace_id)?;
    diesel::insert_into(bot_commands::table)
        .values(rows)
        .execute(conn)
        .map(drop)
}

pub fn delete_for_bot(
    conn: &mut PgConnection,
    bot_user_id: &UserId,
    workspace_id: &WorkspaceId,
) -> QueryResult<usize> {
    diesel::delete(
        bot_commands::table
            .filter(bot_commands::bot_user_id.eq(bot_user_id))
            .filter(bot_commands::workspace_id.eq(workspace_id)),
    )
    .execute(conn)
}

/// Every menu in a workspace, sorted by bot handle, then command.
pub fn list_in_workspace(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
) -> QueryResult<Vec<BotCommandRow>> {
    bot_commands::table
        .inner_join(users::table.on(users::id.eq(bot_commands::bot_user_id)))
        .filter(bot_commands::workspace_id.eq(workspace_id))
        .order((users::handle, bot_commands::command))
        .select(BotCommandRow::as_select())
        .load(conn)
}

/// One bot's current menu in a workspace, sorted by command.
pub fn list_for_bot(
    conn: &mut PgConnection,
    bot_user_id: &UserId,
    workspace_id: &WorkspaceId,
) -> QueryResult<Vec<BotCommandRow>> {
    bot_commands::table
        .filter(bot_commands::bot_user_id.eq(bot_user_id))
        .filter(bot_commands::workspace_id.eq(workspace_id))
        .order(bot_commands::command)
        .select(BotCommandRow::as_select())
        .load(conn)
}
