use super::schema::{bots, users, workspaces};
use super::users::UserRow;
use super::workspaces::WorkspaceRow;
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bots, check_for_backend(diesel::pg::Pg))]
pub struct BotRow {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, bot: &BotRow) -> QueryResult<BotRow> {
    diesel::insert_into(bots::table)
        .values(bot)
        .returning(BotRow::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, user_id: &UserId) -> QueryResult<Option<BotRow>> {
    bots::table
        .find(user_id)
        .select(BotRow::as_select())
        .first(conn)
        .optional()
}

/// Bots installed into the workspace, oldest first, with their user rows.
pub fn list_in_workspace(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
) -> QueryResult<Vec<UserRow>> {
    bots::table
        .inner_join(users::table.on(users::id.eq(bots::user_id)))
        .filter(bots::workspace_id.eq(workspace_id))
        .order(bots::created_at.asc())
        .select(UserRow::as_select())
        .load(conn)
}

/// User-owned bots of one owner, with their workspaces, oldest first.
pub fn list_owned_by(
    conn: &mut PgConnection,
    owner_user_id: &UserId,
) -> QueryResult<Vec<(UserRow, WorkspaceRow)>> {
    bots::table
        .inner_join(users::table.on(users::id.eq(bots::user_id)))
        .inner_join(workspaces::table.on(workspaces::id.eq(bots::workspace_id)))
        .filter(users::owner_user_id.eq(owner_user_id))
        .order(bots::created_at.asc())
        .select((UserRow::as_select(), WorkspaceRow::as_select()))
        .load(conn)
}
