//! Durable events: recorded in messaging's outbox in the same transaction
//! as the change (see `clickclack_common::outbox`).

pub use clickclack_common::outbox::{EventDraft, record, text};
use diesel::PgConnection;

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
                .map(|(_, user)| user.into())
                .collect(),
        ),
    }
}
