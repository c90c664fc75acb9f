use super::schema::{conversation_members, conversations};
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = conversations, check_for_backend(diesel::pg::Pg))]
pub struct ConversationRow {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub member_key: String,
    pub created_at: DateTime<Utc>,
    pub last_seq: i64,
}

pub fn insert(
    conn: &mut PgConnection,
    conversation: &ConversationRow,
    members: &[UserId],
) -> QueryResult<ConversationRow> {
    let row = diesel::insert_into(conversations::table)
        .values(conversation)
        .returning(ConversationRow::as_returning())
        .get_result(conn)?;
    let member_rows: Vec<_> = members
        .iter()
        .map(|user| {
            (
                conversation_members::conversation_id.eq(&row.id),
                conversation_members::user_id.eq(user),
            )
        })
        .collect();
    diesel::insert_into(conversation_members::table)
        .values(&member_rows)
        .execute(conn)?;
    Ok(row)
}

/// Hides (`Some(time)`) or shows (`None`) a conversation for one member.
pub fn set_hidden(
    conn: &mut PgConnection,
    id: &str,
    user_id: &UserId,
    hidden_at: Option<chrono::DateTime<chrono::Utc>>,
) -> QueryResult<usize> {
    diesel::update(conversation_members::table.find((id, user_id)))
        .set(conversation_members::hidden_at.eq(hidden_at))
        .execute(conn)
}

/// A new message shows the conversation again to every member.
pub fn show_to_all(conn: &mut PgConnection, id: &str) -> QueryResult<usize> {
    diesel::update(
        conversation_members::table
            .filter(conversation_members::conversation_id.eq(id))
            .filter(conversation_members::hidden_at.is_not_null()),
    )
    .set(conversation_members::hidden_at.eq(None::<chrono::DateTime<chrono::Utc>>))
    .execute(conn)
}

pub fn find_by_key(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    member_key: &str,
) -> QueryResult<Option<ConversationRow>> {
    conversations::table
        .filter(conversations::workspace_id.eq(workspace_id))
        .filter(conversations::member_key.eq(member_key))
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()
}

/// The conversation, only when `user_id` is one of its members.
pub fn find_for_member(
    conn: &mut PgConnection,
    id: &str,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
) -> QueryResult<Option<ConversationRow>> {
    conversations::table
        .inner_join(conversation_members::table)
        .filter(conversations::id.eq(id))
        .filter(conversations::workspace_id.eq(workspace_id))
        .filter(conversation_members::user_id.eq(user_id))
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()
}

pub fn list_for_member(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
) -> QueryResult<Vec<ConversationRow>> {
    conversations::table
        .inner_join(conversation_members::table)
        .filter(conversations::workspace_id.eq(workspace_id))
        .filter(conversation_members::user_id.eq(user_id))
        .filter(conversation_members::hidden_at.is_null())
        .order((conversations::created_at.asc(), conversations::id.asc()))
        .select(ConversationRow::as_select())
        .load(conn)
}

/// Ids of every conversation `user_id` belongs to in the workspace.
pub fn ids_for_member(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
) -> QueryResult<Vec<String>> {
    conversations::table
        .inner_join(conversation_members::table)
        .filter(conversations::workspace_id.eq(workspace_id))
        .filter(conversation_members::user_id.eq(user_id))
        .select(conversations::id)
        .load(conn)
}

/// (conversation id, member id) pairs, members in id order.
pub fn members_of(conn: &mut PgConnection, ids: &[String]) -> QueryResult<Vec<(String, UserId)>> {
    conversation_members::table
        .filter(conversation_members::conversation_id.eq_any(ids))
        .order((
            conversation_members::conversation_id,
            conversation_members::user_id,
        ))
        .select((
            conversation_members::conversation_id,
            conversation_members::user_id,
        ))
        .load(conn)
}

/// Takes the next message seq of the conversation, under its row lock.
pub fn next_seq(conn: &mut PgConnection, id: &str) -> QueryResult<i64> {
    diesel::update(conversations::table.find(id))
        .set(conversations::last_seq.eq(conversations::last_seq + 1))
        .returning(conversations::last_seq)
        .get_result(conn)
}
