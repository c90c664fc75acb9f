//! Which workspace a resource lives in, by its id prefix.

use super::schema::{channels, conversations, messages, uploads};
use clickclack_common::ids;
use diesel::prelude::*;

pub fn workspace_of(conn: &mut PgConnection, id: &str) -> QueryResult<Option<String>> {
    let found = if id.starts_with(ids::CHANNEL) {
        channels::table
            .find(id)
            .select(channels::workspace_id)
            .first(conn)
    } else if id.starts_with(ids::MESSAGE) {
        messages::table
            .find(id)
            .select(messages::workspace_id)
            .first(conn)
    } else if id.starts_with(ids::DM) {
        conversations::table
            .find(id)
            .select(conversations::workspace_id)
            .first(conn)
    } else if id.starts_with(ids::UPLOAD) {
        uploads::table
            .find(id)
            .select(uploads::workspace_id)
            .first(conn)
    } else {
        return Ok(None);
    };
    found.optional()
}
