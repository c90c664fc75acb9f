use super::schema::{message_attachments, uploads};
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = uploads, check_for_backend(diesel::pg::Pg))]
pub struct UploadRow {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub uploader_id: UserId,
    pub filename: String,
    pub content_type: String,
    pub byte_size: i64,
    pub nonce: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, upload: &UploadRow) -> QueryResult<UploadRow> {
    diesel::insert_into(uploads::table)
        .values(upload)
        .returning(UploadRow::as_returning())
        .get_result(conn)
}

pub fn find_in_workspace(
    conn: &mut PgConnection,
    id: &str,
    workspace_id: &WorkspaceId,
) -> QueryResult<Option<UploadRow>> {
    uploads::table
        .find(id)
        .filter(uploads::workspace_id.eq(workspace_id))
        .select(UploadRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_nonce(
    conn: &mut PgConnection,
    uploader_id: &UserId,
    nonce: &str,
) -> QueryResult<Option<UploadRow>> {
    uploads::table
        .filter(uploads::uploader_id.eq(uploader_id))
        .filter(uploads::nonce.eq(nonce))
        .select(UploadRow::as_select())
        .first(conn)
        .optional()
}

/// Attaches; returns false when it was already attached.
pub fn attach(conn: &mut PgConnection, message_id: &str, upload_id: &str) -> QueryResult<bool> {
    let inserted = diesel::insert_into(message_attachments::table)
        .values((
            message_attachments::message_id.eq(message_id),
            message_attachments::upload_id.eq(upload_id),
            message_attachments::created_at.eq(Utc::now()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(inserted == 1)
}

/// (message id, upload) pairs for the messages, oldest attachment first.
pub fn attachments_of(
    conn: &mut PgConnection,
    message_ids: &[String],
) -> QueryResult<Vec<(String, UploadRow)>> {
    message_attachments::table
        .inner_join(uploads::table)
        .filter(message_attachments::message_id.eq_any(message_ids))
        .order(message_attachments::created_at.asc())
        .select((message_attachments::message_id, UploadRow::as_select()))
        .load(conn)
}
