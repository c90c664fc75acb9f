//! Durable events. Each is written to the outbox in the same transaction as
//! the change it describes, so a committed change always has its event and a
//! rolled-back one never does.

use crate::store::outbox::{self, NewOutboxEvent, OutboxRow};
use chrono::Utc;
use clickclack_common::ids;
use clickclack_common::time::rfc3339;
use clickclack_proto::realtime as rt;
use diesel::PgConnection;
use serde_json::{Map, Value};

pub struct EventDraft {
    pub event_type: &'static str,
    pub workspace_id: String,
    pub channel_id: Option<String>,
    pub seq: Option<i64>,
    pub payload: Map<String, Value>,
    /// Who may see it; empty means the whole workspace.
    pub audience: Vec<String>,
}

impl EventDraft {
    pub fn new(event_type: &'static str, workspace_id: &str) -> EventDraft {
        EventDraft {
            event_type,
            workspace_id: workspace_id.into(),
            channel_id: None,
            seq: None,
            payload: Map::new(),
            audience: Vec::new(),
        }
    }

    pub fn channel(mut self, channel_id: Option<&str>) -> Self {
        self.channel_id = channel_id.map(str::to_owned);
        self
    }

    pub fn seq(mut self, seq: Option<i64>) -> Self {
        self.seq = seq;
        self
    }

    /// Limits the event to these users (DM members, a receipt's reader).
    pub fn audience(mut self, users: Vec<String>) -> Self {
        self.audience = users;
        self
    }

    /// Adds a payload field; `None` leaves it out.
    pub fn with(mut self, key: &str, value: impl Into<Option<Value>>) -> Self {
        if let Some(value) = value.into() {
            self.payload.insert(key.into(), value);
        }
        self
    }
}

/// Writes the event to the outbox (inside the caller's transaction).
pub fn record(conn: &mut PgConnection, draft: EventDraft) -> diesel::QueryResult<rt::Event> {
    let row = outbox::insert(
        conn,
        &NewOutboxEvent {
            event_id: ids::new_id(ids::EVENT),
            event_type: draft.event_type.into(),
            workspace_id: draft.workspace_id,
            channel_id: draft.channel_id,
            seq: draft.seq,
            payload: Value::Object(draft.payload),
            created_at: Utc::now(),
            audience: draft.audience,
        },
    )?;
    Ok(to_pb(row))
}

pub fn to_pb(row: OutboxRow) -> rt::Event {
    rt::Event {
        id: row.event_id,
        // Assigned by realtime when the event is appended to the log.
        cursor: row.cursor.unwrap_or_default(),
        r#type: row.event_type,
        workspace_id: row.workspace_id,
        channel_id: row.channel_id,
        seq: row.seq,
        created_at: rfc3339(&row.created_at),
        payload_json: row.payload.to_string(),
        audience: row.audience,
    }
}

/// The audience of an event about something in a DM: its members. Channel
/// events (no conversation) go to the whole workspace.
pub fn dm_audience(
    conn: &mut PgConnection,
    conversation_id: Option<&str>,
) -> diesel::QueryResult<Vec<String>> {
    match conversation_id {
        None => Ok(Vec::new()),
        Some(id) => Ok(
            crate::store::conversations::members_of(conn, &[id.to_owned()])?
                .into_iter()
                .map(|(_, user)| user)
                .collect(),
        ),
    }
}

/// A JSON string value, or nothing.
pub fn text(value: Option<&str>) -> Option<Value> {
    value.map(|v| Value::String(v.to_owned()))
}
