//! Uploaded files: bytes on disk under the upload directory, metadata in
//! Postgres. A file is written before its row commits and removed again if
//! the row does not, so no row ever points at a missing file.

use super::access::{self, Intent};
use super::messages::changed_event;
use super::{rules, views};
use crate::error::{MessagingError, Result};
use crate::store::uploads::{self, UploadRow};
use chrono::Utc;
use clickclack_common::assertion::ActingUser;
use clickclack_common::ids;
use clickclack_common::ids::WorkspaceId;
use clickclack_common::outbox::RecordedEvent;
use diesel::{Connection, PgConnection};
use std::path::{Path, PathBuf};

/// Where uploads live and how large they may be.
#[derive(Debug, Clone)]
pub struct UploadStore {
    pub dir: PathBuf,
    pub max_bytes: u64,
}

impl UploadStore {
    fn path(&self, workspace_id: &WorkspaceId, upload_id: &str) -> PathBuf {
        // Both are server-made ids of [a-z0-9_]: safe as path components.
        self.dir.join(workspace_id.as_str()).join(upload_id)
    }
}

pub struct NewUpload {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
    pub nonce: Option<String>,
}

/// A safe display name: the last path component, without controls.
fn clean_filename(raw: &str) -> Result<String> {
    let name: String = Path::new(raw.trim())
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let name = name.trim();
    if name.is_empty() {
        return Ok("upload".into());
    }
    if name.chars().count() > 255 {
        return Err(MessagingError::Invalid(
            "filename must be at most 255 characters".into(),
        ));
    }
    Ok(name.to_owned())
}

pub fn create(
    conn: &mut PgConnection,
    caller: &ActingUser,
    store: &UploadStore,
    new: NewUpload,
) -> Result<(views::Upload, bool)> {
    let nonce = rules::nonce(new.nonce.as_deref())?;
    if let Some(nonce) = &nonce
        && let Some(existing) = uploads::find_by_nonce(conn, &caller.user_id, nonce)?
    {
        return Ok((existing, false));
    }
    if new.content.len() as u64 > store.max_bytes {
        return Err(MessagingError::Invalid(format!(
            "file is larger than {} bytes",
            store.max_bytes
        )));
    }
    let filename = clean_filename(&new.filename)?;
    let content_type = Some(new.content_type.trim())
        .filter(|t| !t.is_empty() && t.len() <= 255)
        .unwrap_or("application/octet-stream")
        .to_owned();
    let row = UploadRow {
        id: ids::new_id(ids::UPLOAD),
        workspace_id: caller.workspace_id.clone(),
        uploader_id: caller.user_id.clone(),
        filename,
        content_type,
        byte_size: new.content.len() as i64,
        nonce,
        created_at: Utc::now(),
    };
    let path = store.path(&row.workspace_id, &row.id);
    std::fs::create_dir_all(path.parent().expect("upload paths have a parent"))?;
    std::fs::write(&path, &new.content)?;
    match uploads::insert(conn, &row) {
        Ok(row) => Ok((row, true)),
        Err(error) => {
            let _ = std::fs::remove_file(&path);
            // A concurrent retry with the same nonce stored it first.
            if let Some(nonce) = &row.nonce
                && let Some(existing) = uploads::find_by_nonce(conn, &caller.user_id, nonce)?
            {
                return Ok((existing, false));
            }
            Err(error.into())
        }
    }
}

pub fn by_nonce(
    conn: &mut PgConnection,
    caller: &ActingUser,
    nonce: &str,
) -> Result<views::Upload> {
    uploads::find_by_nonce(conn, &caller.user_id, nonce.trim())?
        .filter(|row| row.workspace_id == caller.workspace_id)
        .ok_or_else(|| MessagingError::NotFound("no upload with that nonce".into()))
}

/// Any member of the upload's workspace may download it.
pub fn download(
    conn: &mut PgConnection,
    caller: &ActingUser,
    store: &UploadStore,
    id: &str,
) -> Result<(views::Upload, Vec<u8>)> {
    let row = uploads::find_in_workspace(conn, id, &caller.workspace_id)?
        .ok_or_else(|| MessagingError::NotFound(format!("upload {id} not found")))?;
    let content = std::fs::read(store.path(&row.workspace_id, &row.id))?;
    Ok((row, content))
}

/// Attaches one of the caller's uploads to one of the caller's messages.
pub fn attach(
    conn: &mut PgConnection,
    caller: &ActingUser,
    message_id: &str,
    upload_id: &str,
    correlation_id: Option<&str>,
) -> Result<(views::Message, Option<RecordedEvent>)> {
    let (message, event) = conn.transaction(|conn| -> Result<_> {
        let message = access::message(conn, caller, message_id, Intent::Write)?;
        if message.author_id != caller.user_id {
            return Err(MessagingError::Forbidden(
                "only the author can attach files to a message".into(),
            ));
        }
        let upload = uploads::find_in_workspace(conn, upload_id, &caller.workspace_id)?
            .filter(|upload| upload.uploader_id == caller.user_id)
            .ok_or_else(|| MessagingError::NotFound(format!("upload {upload_id} not found")))?;
        let event = if uploads::attach(conn, &message.id, &upload.id)? {
            Some(changed_event(
                conn,
                caller,
                "message.updated",
                &message,
                correlation_id,
            )?)
        } else {
            None
        };
        Ok((message, event))
    })?;
    Ok((views::message(conn, &caller.user_id, message)?, event))
}

#[cfg(test)]
mod tests {
    use super::clean_filename;

    #[test]
    fn filenames_lose_directories_and_controls() {
        assert_eq!(clean_filename("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(clean_filename("report\u{0}.pdf").unwrap(), "report.pdf");
        assert_eq!(clean_filename("  ").unwrap(), "upload");
        assert!(clean_filename(&"a".repeat(256)).is_err());
    }
}
