use super::schema::{events, log_head};
use diesel::prelude::*;

/// The channel every append notifies (at commit) so replicas wake up.
pub const NOTIFY_CHANNEL: &str = "clickclack_realtime_events";

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

pub fn find(conn: &mut PgConnection, event_id: &str) -> QueryResult<Option<EventRow>> {
    events::table
        .filter(events::event_id.eq(event_id))
        .select(EventRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut PgConnection, row: &EventRow) -> QueryResult<EventRow> {
    diesel::insert_into(events::table)
        .values(row)
        .returning(EventRow::as_returning())
        .get_result(conn)
}

/// Wakes every replica once the transaction commits.
pub fn notify(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::sql_query(format!("NOTIFY {NOTIFY_CHANNEL}")).execute(conn)
}

/// Events of every workspace after `position`, ascending (for the hub).
pub fn all_after(conn: &mut PgConnection, position: i64, limit: i64) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::position.gt(position))
        .order(events::position.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}

/// Events `user_id` may see in the workspace after `position`, ascending.
pub fn visible_after(
    conn: &mut PgConnection,
    workspace_id: &str,
    user_id: &str,
    position: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::workspace_id.eq(workspace_id))
        .filter(events::position.gt(position))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("cardinality(audience) = 0 OR ")
                .bind::<diesel::sql_types::Text, _>(user_id)
                .sql(" = ANY(audience)"),
        )
        .order(events::position.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}

/// How many events of the workspace follow `position`, counting at most `cap`.
pub fn count_after(
    conn: &mut PgConnection,
    workspace_id: &str,
    position: i64,
    cap: i64,
) -> QueryResult<i64> {
    let positions: Vec<i64> = events::table
        .filter(events::workspace_id.eq(workspace_id))
        .filter(events::position.gt(position))
        .order(events::position.asc())
        .limit(cap)
        .select(events::position)
        .load(conn)?;
    Ok(positions.len() as i64)
}

/// The newest position `user_id` may see in the workspace.
pub fn visible_tail(
    conn: &mut PgConnection,
    workspace_id: &str,
    user_id: &str,
) -> QueryResult<Option<i64>> {
    events::table
        .filter(events::workspace_id.eq(workspace_id))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("cardinality(audience) = 0 OR ")
                .bind::<diesel::sql_types::Text, _>(user_id)
                .sql(" = ANY(audience)"),
        )
        .order(events::position.desc())
        .select(events::position)
        .first(conn)
        .optional()
}
