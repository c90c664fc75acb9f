//! Bot setup codes: one-time codes a runtime trades for a bot token.

use super::schema::bot_setup_codes;
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bot_setup_codes, check_for_backend(diesel::pg::Pg))]
pub struct SetupCodeRow {
    pub id: String,
    /// SHA-256 of the normalised code; the code itself is never stored.
    pub code_hash: Vec<u8>,
    pub bot_user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub token_name: String,
    pub scopes: Vec<String>,
    pub defaults: serde_json::Value,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub claimed_token_id: Option<String>,
}

pub fn insert(conn: &mut PgConnection, code: &SetupCodeRow) -> QueryResult<SetupCodeRow> {
    diesel::insert_into(bot_setup_codes::table)
        .values(code)
        .returning(SetupCodeRow::as_returning())
        .get_result(conn)
}

/// The unclaimed, unexpired code with this hash, locked for the rest of the
/// transaction so two claims cannot both win.
pub fn lock_claimable(
    conn: &mut PgConnection,
    hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<SetupCodeRow>> {
    bot_setup_codes::table
        .filter(bot_setup_codes::code_hash.eq(hash))
        .filter(bot_setup_codes::claimed_at.is_null())
        .filter(bot_setup_codes::expires_at.gt(now))
        .select(SetupCodeRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn mark_claimed(
    conn: &mut PgConnection,
    id: &str,
    token_id: &str,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(bot_setup_codes::table.find(id))
        .set((
            bot_setup_codes::claimed_at.eq(at),
            bot_setup_codes::claimed_token_id.eq(token_id),
        ))
        .execute(conn)
        .map(drop)
}

/// A bot's most recent codes, newest first.
pub fn recent_for_bot(
    conn: &mut PgConnection,
    bot_user_id: &UserId,
) -> QueryResult<Vec<SetupCodeRow>> {
    bot_setup_codes::table
        .filter(bot_setup_codes::bot_user_id.eq(bot_user_id))
        .order(bot_setup_codes::created_at.desc())
        .limit(20)
        .select(SetupCodeRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, id: &str) -> QueryResult<Option<SetupCodeRow>> {
    bot_setup_codes::table
        .find(id)
        .select(SetupCodeRow::as_select())
        .first(conn)
        .optional()
}

/// Ends an unclaimed code now (it can no longer be claimed).
pub fn expire(conn: &mut PgConnection, id: &str, at: DateTime<Utc>) -> QueryResult<SetupCodeRow> {
    diesel::update(bot_setup_codes::table.find(id))
        .set(bot_setup_codes::expires_at.eq(at))
        .returning(SetupCodeRow::as_returning())
        .get_result(conn)
}
