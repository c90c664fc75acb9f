//! The append-only audit log of bot, token and membership changes.

use super::schema::audit_log;
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg))]
pub struct AuditRow {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub actor_user_id: Option<UserId>,
    pub action: String,
    pub target_id: String,
    pub detail: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, row: &AuditRow) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// A workspace's entries, newest first, older than `before_id` when given.
pub fn list(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_log::table
        .filter(audit_log::workspace_id.eq(workspace_id))
        .select(AuditRow::as_select())
        .order(audit_log::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before_id {
        query = query.filter(audit_log::id.lt(before.to_owned()));
    }
    query.load(conn)
}
