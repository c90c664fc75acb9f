//! Incoming-webhook rows.

use super::schema::incoming_hooks;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamptz};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = incoming_hooks, check_for_backend(diesel::pg::Pg))]
pub struct IncomingHookRow {
    pub id: String,
    pub workspace_id: String,
    pub channel_id: String,
    pub bot_user_id: String,
    pub name: String,
    pub secret_hash: Vec<u8>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub fn insert(conn: &mut PgConnection, row: &IncomingHookRow) -> QueryResult<IncomingHookRow> {
    diesel::insert_into(incoming_hooks::table)
        .values(row)
        .returning(IncomingHookRow::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: &str) -> QueryResult<Option<IncomingHookRow>> {
    incoming_hooks::table
        .find(id)
        .select(IncomingHookRow::as_select())
        .first(conn)
        .optional()
}

/// A workspace's live hooks, oldest first.
pub fn live_in(conn: &mut PgConnection, workspace_id: &str) -> QueryResult<Vec<IncomingHookRow>> {
    incoming_hooks::table
        .filter(incoming_hooks::workspace_id.eq(workspace_id))
        .filter(incoming_hooks::revoked_at.is_null())
        .order((incoming_hooks::created_at.asc(), incoming_hooks::id.asc()))
        .select(IncomingHookRow::as_select())
        .load(conn)
}

pub fn revoke(conn: &mut PgConnection, id: &str) -> QueryResult<IncomingHookRow> {
    diesel::update(incoming_hooks::table.find(id))
        .set(
            incoming_hooks::revoked_at.eq(diesel::dsl::sql::<Nullable<Timestamptz>>(
                "coalesce(revoked_at, now())",
            )),
        )
        .returning(IncomingHookRow::as_returning())
        .get_result(conn)
}

pub fn touch(conn: &mut PgConnection, id: &str) -> QueryResult<usize> {
    diesel::update(incoming_hooks::table.find(id))
        .set(incoming_hooks::last_used_at.eq(Utc::now()))
        .execute(conn)
}
