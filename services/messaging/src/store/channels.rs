use super::schema::channels;
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = channels, check_for_backend(diesel::pg::Pg))]
pub struct ChannelRow {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub display_title: Option<String>,
    pub kind: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    pub external_managed: bool,
    pub external_ref: Option<String>,
    pub external_url: Option<String>,
    pub sidebar_section: Option<String>,
    pub last_seq: i64,
}

/// Fields an update may change; `None` leaves a field alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = channels)]
pub struct ChannelChanges {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub display_title: Option<Option<String>>,
    pub archived_at: Option<Option<DateTime<Utc>>>,
    pub external_managed: Option<bool>,
    pub external_ref: Option<Option<String>>,
    pub external_url: Option<Option<String>>,
    pub sidebar_section: Option<Option<String>>,
}

impl ChannelChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.kind.is_none()
            && self.display_title.is_none()
            && self.archived_at.is_none()
            && self.external_managed.is_none()
            && self.external_ref.is_none()
            && self.external_url.is_none()
            && self.sidebar_section.is_none()
    }
}

pub fn insert(conn: &mut PgConnection, channel: &ChannelRow) -> QueryResult<ChannelRow> {
    diesel::insert_into(channels::table)
        .values(channel)
        .returning(ChannelRow::as_returning())
        .get_result(conn)
}

/// A channel of the workspace; channels of other workspaces do not exist here.
pub fn find_in_workspace(
    conn: &mut PgConnection,
    id: &str,
    workspace_id: &WorkspaceId,
) -> QueryResult<Option<ChannelRow>> {
    channels::table
        .find(id)
        .filter(channels::workspace_id.eq(workspace_id))
        .select(ChannelRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_name(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    name: &str,
) -> QueryResult<Option<ChannelRow>> {
    channels::table
        .filter(channels::workspace_id.eq(workspace_id))
        .filter(channels::name.eq(name))
        .select(ChannelRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut PgConnection, workspace_id: &WorkspaceId) -> QueryResult<Vec<ChannelRow>> {
    channels::table
        .filter(channels::workspace_id.eq(workspace_id))
        .order((channels::created_at.asc(), channels::id.asc()))
        .select(ChannelRow::as_select())
        .load(conn)
}

pub fn update(
    conn: &mut PgConnection,
    id: &str,
    changes: &ChannelChanges,
) -> QueryResult<ChannelRow> {
    diesel::update(channels::table.find(id))
        .set(changes)
        .returning(ChannelRow::as_returning())
        .get_result(conn)
}

/// Takes the next channel_seq. The row lock this takes serialises posters to
/// the channel until their transaction ends, so seqs never gap or repeat.
pub fn next_seq(conn: &mut PgConnection, id: &str) -> QueryResult<i64> {
    diesel::update(channels::table.find(id))
        .set(channels::last_seq.eq(channels::last_seq + 1))
        .returning(channels::last_seq)
        .get_result(conn)
}
