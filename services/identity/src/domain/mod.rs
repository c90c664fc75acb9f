//! Identity's rules. Each operation runs in one database transaction and
//! calls `store` for the SQL; the pure checks live in `rules`.

pub mod audit;
pub mod auth;
pub mod bots;
pub mod commands;
pub mod members;
pub mod rules;
pub mod self_service;
pub mod sessions;
pub mod setup_codes;
pub mod users;
pub mod workspaces;

use crate::error::{IdentityError, Result};
use crate::store::{users::UserRow, workspaces::WorkspaceRow};
use diesel::PgConnection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Finds a workspace by id or slug, or says which one is missing.
pub fn resolve_workspace(conn: &mut PgConnection, key: &str) -> Result<WorkspaceRow> {
    let key = key.trim();
    if key.is_empty() {
        return Err(IdentityError::Invalid("workspace is required".into()));
    }
    crate::store::workspaces::find_by_id_or_slug(conn, key)?
        .ok_or_else(|| IdentityError::NotFound(format!("workspace {key} not found")))
}

/// The actor's membership, or 403 when they are not a member.
pub fn require_member(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    user_id: &str,
) -> Result<crate::store::members::MemberRow> {
    crate::store::members::find(conn, &workspace.id, user_id)?.ok_or_else(|| {
        IdentityError::Forbidden(format!(
            "you are not a member of workspace {}",
            workspace.slug
        ))
    })
}

/// Owners, moderators and operators pass; anyone else gets 403 saying
/// what they may not `do_what`.
pub fn require_manager(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    actor: &audit::Actor,
    do_what: &str,
) -> Result<()> {
    if let audit::Actor::User(id) = actor {
        let member = require_member(conn, workspace, id)?;
        if !rules::Role::from_stored(&member.role).manages_workspace() {
            return Err(IdentityError::Forbidden(format!(
                "only workspace owners and moderators can {do_what}"
            )));
        }
    }
    Ok(())
}

pub fn require_user(conn: &mut PgConnection, id: &str) -> Result<UserRow> {
    crate::store::users::find(conn, id.trim())?
        .ok_or_else(|| IdentityError::NotFound(format!("user {} not found", id.trim())))
}

/// Turns a unique-constraint violation into a conflict with `message`.
pub fn conflict_on_duplicate(
    error: DieselError,
    message: impl FnOnce() -> String,
) -> IdentityError {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            IdentityError::Conflict(message())
        }
        other => other.into(),
    }
}

/// Refuses a handle another member of the workspace already uses.
pub fn ensure_handle_free(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    handle: &str,
    for_user: Option<&str>,
) -> Result<()> {
    match crate::store::members::holder_of_handle(conn, &workspace.id, handle)? {
        Some(holder) if Some(holder.as_str()) != for_user => Err(handle_taken(workspace, handle)),
        _ => Ok(()),
    }
}

pub fn handle_taken(workspace: &WorkspaceRow, handle: &str) -> IdentityError {
    IdentityError::Conflict(format!(
        "handle @{handle} is already taken in workspace {}",
        workspace.slug
    ))
}
