use super::schema::bot_tokens;
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bot_tokens, check_for_backend(diesel::pg::Pg))]
pub struct BotTokenRow {
    pub id: String,
    pub bot_user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub token_hash: Vec<u8>,
    pub scopes: Vec<String>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// When set and in the past, the token is revoked; a future time is a
    /// rotation's grace period.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The token this one replaced by rotation.
    pub replaces_token_id: Option<String>,
}

pub fn insert(conn: &mut PgConnection, token: &BotTokenRow) -> QueryResult<BotTokenRow> {
    diesel::insert_into(bot_tokens::table)
        .values(token)
        .returning(BotTokenRow::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: &str) -> QueryResult<Option<BotTokenRow>> {
    bot_tokens::table
        .find(id)
        .select(BotTokenRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_hash(conn: &mut PgConnection, hash: &[u8]) -> QueryResult<Option<BotTokenRow>> {
    bot_tokens::table
        .filter(bot_tokens::token_hash.eq(hash))
        .select(BotTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Tokens of one bot in one workspace, newest first.
pub fn list_for_bot(
    conn: &mut PgConnection,
    bot_user_id: &UserId,
    workspace_id: &WorkspaceId,
) -> QueryResult<Vec<BotTokenRow>> {
    bot_tokens::table
        .filter(bot_tokens::bot_user_id.eq(bot_user_id))
        .filter(bot_tokens::workspace_id.eq(workspace_id))
        .order((bot_tokens::created_at.desc(), bot_tokens::id.desc()))
        .select(BotTokenRow::as_select())
        .load(conn)
}

/// Locks one token row for the rest of the transaction.
pub fn find_for_update(conn: &mut PgConnection, id: &str) -> QueryResult<Option<BotTokenRow>> {
    bot_tokens::table
        .find(id)
        .select(BotTokenRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Revokes one token at `at`. A token already revoked keeps the earlier
/// time, so a later rotation never extends a grace period.
pub fn revoke(
    conn: &mut PgConnection,
    id: &str,
    at: DateTime<Utc>,
) -> QueryResult<Option<BotTokenRow>> {
    diesel::update(
        bot_tokens::table.find(id).filter(
            bot_tokens::revoked_at
                .is_null()
                .or(bot_tokens::revoked_at.gt(at)),
        ),
    )
    .set(bot_tokens::revoked_at.eq(at))
    .execute(conn)?;
    find(conn, id)
}

/// How many of a bot's tokens in a workspace still work (or are in grace).
pub fn count_active_for_bot(
    conn: &mut PgConnection,
    bot_user_id: &UserId,
    workspace_id: &WorkspaceId,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    bot_tokens::table
        .filter(bot_tokens::bot_user_id.eq(bot_user_id))
        .filter(bot_tokens::workspace_id.eq(workspace_id))
        .filter(
            bot_tokens::revoked_at
                .is_null()
                .or(bot_tokens::revoked_at.gt(now)),
        )
        .count()
        .get_result(conn)
}

/// Revokes every live token a bot holds in a workspace.
pub fn revoke_all_for_bot(
    conn: &mut PgConnection,
    bot_user_id: &UserId,
    workspace_id: &WorkspaceId,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        bot_tokens::table
            .filter(bot_tokens::bot_user_id.eq(bot_user_id))
            .filter(bot_tokens::workspace_id.eq(workspace_id))
            .filter(
                bot_tokens::revoked_at
                    .is_null()
                    .or(bot_tokens::revoked_at.gt(at)),
            ),
    )
    .set(bot_tokens::revoked_at.eq(at))
    .execute(conn)
}

pub fn set_last_used(conn: &mut PgConnection, id: &str, at: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(bot_tokens::table.find(id))
        .set(bot_tokens::last_used_at.eq(at))
        .execute(conn)
}
