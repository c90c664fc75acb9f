//! Workspace invites: one-time links, stored as hashes.

use super::schema::workspace_invites;
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = workspace_invites, check_for_backend(diesel::pg::Pg))]
pub struct InviteRow {
    pub id: String,
    pub token_hash: Vec<u8>,
    pub workspace_id: WorkspaceId,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_by: Option<UserId>,
    pub accepted_at: Option<DateTime<Utc>>,
}

pub fn insert(conn: &mut PgConnection, invite: &InviteRow) -> QueryResult<InviteRow> {
    diesel::insert_into(workspace_invites::table)
        .values(invite)
        .returning(InviteRow::as_returning())
        .get_result(conn)
}

/// The unused, unexpired invite with this hash, locked for the transaction.
pub fn lock_open(
    conn: &mut PgConnection,
    hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<InviteRow>> {
    workspace_invites::table
        .filter(workspace_invites::token_hash.eq(hash))
        .filter(workspace_invites::accepted_at.is_null())
        .filter(workspace_invites::expires_at.gt(now))
        .select(InviteRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn mark_accepted(
    conn: &mut PgConnection,
    id: &str,
    user_id: &UserId,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(workspace_invites::table.find(id))
        .set((
            workspace_invites::accepted_by.eq(user_id),
            workspace_invites::accepted_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}
