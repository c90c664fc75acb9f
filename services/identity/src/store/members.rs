use super::schema::{users, workspace_members};
use super::users::UserRow;
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use clickclack_common::roles::Role;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = workspace_members, check_for_backend(diesel::pg::Pg))]
pub struct MemberRow {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub role: Role,
    pub handle: String,
    pub joined_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, member: &MemberRow) -> QueryResult<MemberRow> {
    diesel::insert_into(workspace_members::table)
        .values(member)
        .returning(MemberRow::as_returning())
        .get_result(conn)
}

pub fn find(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
) -> QueryResult<Option<MemberRow>> {
    workspace_members::table
        .find((workspace_id, user_id))
        .select(MemberRow::as_select())
        .first(conn)
        .optional()
}

/// The member of a workspace with this (normalised) handle.
pub fn find_by_handle(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    handle: &str,
) -> QueryResult<Option<MemberRow>> {
    workspace_members::table
        .filter(workspace_members::workspace_id.eq(workspace_id))
        .filter(workspace_members::handle.eq(handle))
        .select(MemberRow::as_select())
        .first(conn)
        .optional()
}

/// Locks the membership row for the rest of the transaction.
pub fn find_for_update(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
) -> QueryResult<Option<MemberRow>> {
    workspace_members::table
        .find((workspace_id, user_id))
        .select(MemberRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn set_role(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
    role: Role,
) -> QueryResult<MemberRow> {
    diesel::update(workspace_members::table.find((workspace_id, user_id)))
        .set(workspace_members::role.eq(role))
        .returning(MemberRow::as_returning())
        .get_result(conn)
}

/// Changes a user's handle in every workspace they belong to (a taken
/// handle fails the unique constraint).
pub fn rename_everywhere(
    conn: &mut PgConnection,
    user_id: &UserId,
    handle: &str,
) -> QueryResult<usize> {
    diesel::update(workspace_members::table.filter(workspace_members::user_id.eq(user_id)))
        .set(workspace_members::handle.eq(handle))
        .execute(conn)
}

pub fn delete(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
) -> QueryResult<usize> {
    diesel::delete(workspace_members::table.find((workspace_id, user_id))).execute(conn)
}

/// Who in the workspace already uses `handle`, if anyone.
pub fn holder_of_handle(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    handle: &str,
) -> QueryResult<Option<UserId>> {
    workspace_members::table
        .filter(workspace_members::workspace_id.eq(workspace_id))
        .filter(workspace_members::handle.eq(handle))
        .select(workspace_members::user_id)
        .first(conn)
        .optional()
}

/// Owners of the workspace, locked so two removals cannot both pass the
/// "last owner" check.
pub fn owners_for_update(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
) -> QueryResult<Vec<UserId>> {
    workspace_members::table
        .filter(workspace_members::workspace_id.eq(workspace_id))
        .filter(workspace_members::role.eq(Role::Owner))
        .select(workspace_members::user_id)
        .for_update()
        .load(conn)
}

pub fn list_with_users(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
) -> QueryResult<Vec<(MemberRow, UserRow)>> {
    workspace_members::table
        .inner_join(users::table)
        .filter(workspace_members::workspace_id.eq(workspace_id))
        .order(workspace_members::joined_at.asc())
        .select((MemberRow::as_select(), UserRow::as_select()))
        .load(conn)
}
