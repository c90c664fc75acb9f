//! Which workspace a resource lives in.

use super::schema::{channels, conversations, messages, uploads};
use clickclack_common::ids::ResourceId;
use diesel::prelude::*;

pub fn workspace_of(conn: &mut PgConnection, id: ResourceId<'_>) -> QueryResult<Option<String>> {
    match id {
        ResourceId::Channel(id) => channels::table
            .find(id)
            .select(channels::workspace_id)
            .first(conn),
        ResourceId::Message(id) => messages::table
            .find(id)
            .select(messages::workspace_id)
            .first(conn),
        ResourceId::Conversation(id) => conversations::table
            .find(id)
            .select(conversations::workspace_id)
            .first(conn),
        ResourceId::Upload(id) => uploads::table
            .find(id)
            .select(uploads::workspace_id)
            .first(conn),
    }
    .optional()
}
