//! App installations: an app (by slug) bound to a workspace's bot.

use super::schema::app_installations;
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = app_installations, check_for_backend(diesel::pg::Pg))]
pub struct AppInstallationRow {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub app_slug: String,
    pub display_name: String,
    pub bot_user_id: UserId,
    /// Always a JSON object.
    pub config: serde_json::Value,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub fn insert(
    conn: &mut PgConnection,
    row: &AppInstallationRow,
) -> QueryResult<AppInstallationRow> {
    diesel::insert_into(app_installations::table)
        .values(row)
        .returning(AppInstallationRow::as_returning())
        .get_result(conn)
}

/// A workspace's live installations, by slug.
pub fn list_live(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
) -> QueryResult<Vec<AppInstallationRow>> {
    app_installations::table
        .filter(app_installations::workspace_id.eq(workspace_id))
        .filter(app_installations::revoked_at.is_null())
        .order(app_installations::app_slug.asc())
        .select(AppInstallationRow::as_select())
        .load(conn)
}

/// The installation, locked so two revokes cannot both count its parts.
pub fn find_for_update(
    conn: &mut PgConnection,
    id: &str,
) -> QueryResult<Option<AppInstallationRow>> {
    app_installations::table
        .find(id)
        .select(AppInstallationRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn mark_revoked(
    conn: &mut PgConnection,
    id: &str,
    at: DateTime<Utc>,
) -> QueryResult<AppInstallationRow> {
    diesel::update(app_installations::table.find(id))
        .set(app_installations::revoked_at.eq(at))
        .returning(AppInstallationRow::as_returning())
        .get_result(conn)
}
