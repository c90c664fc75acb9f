use super::schema::{events, log_head};
use clickclack_common::ids::{UserId, WorkspaceId};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

/// The channel every append notifies (at commit) so replicas wake up.
pub const NOTIFY_CHANNEL: &str = "clickclack_realtime_events";
/// The channel ephemeral events travel on between replicas (never stored).
pub const EPHEMERAL_CHANNEL: &str = "clickclack_realtime_ephemeral";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub struct EventRow {
    pub position: i64,
    pub event_id: String,
    pub event_type: String,
    pub workspace_id: String,
    pub channel_id: Option<String>,
    pub seq: Option<i64>,
    pub audience: Vec<String>,
    pub payload: serde_json::Value,
    pub created_at: String,
}

/// Locks the head row; held until the transaction ends, so appends are
/// serialised and positions commit in order.
pub fn lock_head(conn: &mut PgConnection) -> QueryResult<i64> {
    log_head::table
        .select(log_head::position)
        .for_update()
        .first(conn)
}

pub fn set_head(conn: &mut PgConnection, position: i64) -> QueryResult<usize> {
    diesel::update(log_head::table)
        .set(log_head::position.eq(position))
        .execute(conn)
}

pub fn head(conn: &mut PgConnection) -> QueryResult<i64> {
    log_head::table.select(log_head::position).first(conn)
}

/// The stored events among `event_ids` (one query for a whole batch).
pub fn find_many(conn: &mut PgConnection, event_ids: &[&str]) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::event_id.eq_any(event_ids))
        .select(EventRow::as_select())
        .load(conn)
}

/// Inserts a batch in one statement.
pub fn insert_many(conn: &mut PgConnection, rows: &[EventRow]) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    diesel::insert_into(events::table)
        .values(rows)
        .execute(conn)
}

/// Inserts a batch in one statement, skipping ids already stored; returns
/// how many rows it inserted.
pub fn insert_new(conn: &mut PgConnection, rows: &[EventRow]) -> QueryResult<usize> {
    diesel::insert_into(events::table)
        .values(rows)
        .on_conflict(events::event_id)
        .do_nothing()
        .execute(conn)
}

/// Wakes every replica once the transaction commits.
pub fn notify(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::sql_query(format!("NOTIFY {NOTIFY_CHANNEL}")).execute(conn)
}

/// Events of every workspace after `position`, ascending (for the hub).
/// Hands an ephemeral event to every replica's listener.
pub fn notify_ephemeral(conn: &mut PgConnection, payload: &str) -> QueryResult<usize> {
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<Text, _>(EPHEMERAL_CHANNEL)
        .bind::<Text, _>(payload)
        .execute(conn)
}

pub fn all_after(conn: &mut PgConnection, position: i64, limit: i64) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::position.gt(position))
        .order(events::position.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}

/// What `user_id` may see of the log when reading workspace `workspace_id`:
/// that workspace's events that are public (empty audience) or name them.
/// The `OR` is grouped, so it never escapes the other conditions.
fn visible_in(
    workspace_id: &WorkspaceId,
    user_id: &UserId,
) -> Box<dyn BoxableExpression<events::table, Pg, SqlType = Bool>> {
    let public = events::audience.eq(Vec::<String>::new());
    let addressed = events::audience.contains(vec![user_id.to_string()]);
    Box::new(
        events::workspace_id
            .eq(workspace_id.to_string())
            .and(public.or(addressed)),
    )
}

/// Events `user_id` may see in the workspace after `position`, ascending.
pub fn visible_after(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
    position: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    visible_between(conn, workspace_id, user_id, position, i64::MAX, limit)
}

/// Events `user_id` may see in the workspace after `position` and up to
/// `up_to`, ascending.
pub fn visible_between(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
    position: i64,
    up_to: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(visible_in(workspace_id, user_id))
        .filter(events::position.gt(position))
        .filter(events::position.le(up_to))
        .order(events::position.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}

/// How many events `user_id` may see in the workspace after `position`,
/// counting at most `cap`.
pub fn count_visible_after(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
    position: i64,
    cap: i64,
) -> QueryResult<i64> {
    let positions: Vec<i64> = events::table
        .filter(visible_in(workspace_id, user_id))
        .filter(events::position.gt(position))
        .order(events::position.asc())
        .limit(cap)
        .select(events::position)
        .load(conn)?;
    Ok(positions.len() as i64)
}

/// The position of the `nth` newest event (1 = the newest) `user_id` may
/// see in the workspace, if there are that many.
pub fn nth_newest_visible(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
    nth: i64,
) -> QueryResult<Option<i64>> {
    events::table
        .filter(visible_in(workspace_id, user_id))
        .order(events::position.desc())
        .offset(nth - 1)
        .select(events::position)
        .first(conn)
        .optional()
}

/// The newest position `user_id` may see in the workspace.
pub fn visible_tail(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
) -> QueryResult<Option<i64>> {
    nth_newest_visible(conn, workspace_id, user_id, 1)
}
