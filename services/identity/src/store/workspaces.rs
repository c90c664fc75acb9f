use super::schema::{workspace_members, workspaces};
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use clickclack_common::roles::Role;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = workspaces, check_for_backend(diesel::pg::Pg))]
pub struct WorkspaceRow {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub icon_url: String,
    pub created_at: DateTime<Utc>,
    /// Set by a soft delete; such a workspace is gone from every lookup.
    pub deleted_at: Option<DateTime<Utc>>,
}

pub fn insert(conn: &mut PgConnection, workspace: &WorkspaceRow) -> QueryResult<WorkspaceRow> {
    diesel::insert_into(workspaces::table)
        .values(workspace)
        .returning(WorkspaceRow::as_returning())
        .get_result(conn)
}

/// A live (not deleted) workspace by id.
pub fn find(conn: &mut PgConnection, id: &WorkspaceId) -> QueryResult<Option<WorkspaceRow>> {
    workspaces::table
        .find(id)
        .filter(workspaces::deleted_at.is_null())
        .select(WorkspaceRow::as_select())
        .first(conn)
        .optional()
}

/// A live workspace by slug.
pub fn find_by_slug(conn: &mut PgConnection, slug: &str) -> QueryResult<Option<WorkspaceRow>> {
    workspaces::table
        .filter(workspaces::slug.eq(slug))
        .filter(workspaces::deleted_at.is_null())
        .select(WorkspaceRow::as_select())
        .first(conn)
        .optional()
}

pub fn exists_with_slug(conn: &mut PgConnection, slug: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        workspaces::table.filter(workspaces::slug.eq(slug)),
    ))
    .get_result(conn)
}

pub fn update(
    conn: &mut PgConnection,
    id: &WorkspaceId,
    name: Option<&str>,
    slug: Option<&str>,
    icon_url: Option<&str>,
) -> QueryResult<WorkspaceRow> {
    let current: WorkspaceRow = workspaces::table
        .find(id)
        .select(WorkspaceRow::as_select())
        .first(conn)?;
    diesel::update(workspaces::table.find(id))
        .set((
            workspaces::name.eq(name.unwrap_or(&current.name)),
            workspaces::slug.eq(slug.unwrap_or(&current.slug)),
            workspaces::icon_url.eq(icon_url.unwrap_or(&current.icon_url)),
        ))
        .returning(WorkspaceRow::as_returning())
        .get_result(conn)
}

pub fn soft_delete(
    conn: &mut PgConnection,
    id: &WorkspaceId,
    at: DateTime<Utc>,
) -> QueryResult<WorkspaceRow> {
    diesel::update(workspaces::table.find(id))
        .set(workspaces::deleted_at.eq(at))
        .returning(WorkspaceRow::as_returning())
        .get_result(conn)
}

pub fn count(conn: &mut PgConnection) -> QueryResult<i64> {
    workspaces::table.count().get_result(conn)
}

pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<WorkspaceRow>> {
    workspaces::table
        .filter(workspaces::deleted_at.is_null())
        .order(workspaces::created_at.asc())
        .select(WorkspaceRow::as_select())
        .load(conn)
}

/// The workspaces `user_id` belongs to, each with the user's role there.
pub fn list_for_member(
    conn: &mut PgConnection,
    user_id: &UserId,
) -> QueryResult<Vec<(WorkspaceRow, Role)>> {
    workspaces::table
        .inner_join(workspace_members::table)
        .filter(workspace_members::user_id.eq(user_id))
        .filter(workspaces::deleted_at.is_null())
        .order(workspaces::created_at.asc())
        .select((WorkspaceRow::as_select(), workspace_members::role))
        .load(conn)
}
