use super::schema::outbox;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxRow {
    pub position: i64,
    pub event_id: String,
    pub event_type: String,
    pub workspace_id: String,
    pub channel_id: Option<String>,
    pub seq: Option<i64>,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub audience: Vec<String>,
    pub cursor: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutboxEvent {
    pub event_id: String,
    pub event_type: String,
    pub workspace_id: String,
    pub channel_id: Option<String>,
    pub seq: Option<i64>,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub audience: Vec<String>,
}

pub fn insert(conn: &mut PgConnection, event: &NewOutboxEvent) -> QueryResult<OutboxRow> {
    diesel::insert_into(outbox::table)
        .values(event)
        .returning(OutboxRow::as_returning())
        .get_result(conn)
}
