//! Magic links and human sessions. Both keep only the SHA-256 of their
//! secret.

use super::schema::{magic_links, sessions};
use chrono::{DateTime, Utc};
use clickclack_common::ids::UserId;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = magic_links, check_for_backend(diesel::pg::Pg))]
pub struct MagicLinkRow {
    pub id: String,
    pub user_id: UserId,
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub consumed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct SessionRow {
    pub id: String,
    pub user_id: UserId,
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub fn insert_magic_link(conn: &mut PgConnection, link: &MagicLinkRow) -> QueryResult<()> {
    diesel::insert_into(magic_links::table)
        .values(link)
        .execute(conn)
        .map(drop)
}

/// Marks an unused, unexpired link as used and returns it; `None` when the
/// link is unknown, expired or already used. The single UPDATE makes
/// consumption race-free: two concurrent consumers cannot both win.
pub fn consume_magic_link(
    conn: &mut PgConnection,
    hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<MagicLinkRow>> {
    diesel::update(
        magic_links::table
            .filter(magic_links::token_hash.eq(hash))
            .filter(magic_links::consumed_at.is_null())
            .filter(magic_links::expires_at.gt(now)),
    )
    .set(magic_links::consumed_at.eq(now))
    .returning(MagicLinkRow::as_returning())
    .get_result(conn)
    .optional()
}

pub fn insert_session(conn: &mut PgConnection, session: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)
        .map(drop)
}

pub fn find_session_by_hash(
    conn: &mut PgConnection,
    hash: &[u8],
) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .filter(sessions::token_hash.eq(hash))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

/// Revokes a live session; returns whether one was revoked.
pub fn revoke_session(conn: &mut PgConnection, id: &str, at: DateTime<Utc>) -> QueryResult<bool> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(at))
    .execute(conn)
    .map(|n| n > 0)
}

pub fn set_session_last_used(
    conn: &mut PgConnection,
    id: &str,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(sessions::table.find(id))
        .set(sessions::last_used_at.eq(at))
        .execute(conn)
}
