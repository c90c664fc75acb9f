//! Identity's rules. Each operation runs in one database transaction and
//! calls `store` for the SQL; the pure checks live in `rules`.

pub mod app_installations;
pub mod audit;
pub mod auth;
pub mod bots;
pub mod commands;
pub mod members;
pub mod notices;
pub mod rules;
pub mod self_service;
pub mod sessions;
pub mod setup_codes;
pub mod users;
pub mod workspaces;

use crate::error::{IdentityError, Result};
use crate::store::{users::UserRow, workspaces::WorkspaceRow};
use clickclack_common::ids::{UserId, WorkspaceId, WorkspaceKey};
use diesel::PgConnection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// A workspace as a request names it (id or slug); blank is refused.
pub fn workspace_key(raw: &str) -> Result<WorkspaceKey> {
    WorkspaceKey::parse(raw).ok_or_else(|| IdentityError::Invalid("workspace is required".into()))
}

/// A workspace a request may leave blank (then: none, or a default).
pub fn optional_workspace_key(raw: &str) -> Option<WorkspaceKey> {
    WorkspaceKey::parse(raw)
}

/// A user id as a request names it. Whatever is not a `usr_` id names no
/// user, so it gets the same "not found" (`noun`: user, bot, owner) an
/// unknown id gets.
pub fn user_id(raw: &str, noun: &str) -> Result<UserId> {
    let raw = raw.trim();
    UserId::parse(raw).ok_or_else(|| IdentityError::NotFound(format!("{noun} {raw} not found")))
}

/// Like [`user_id`], for fields where blank means "nobody".
pub fn optional_user_id(raw: Option<&str>, noun: &str) -> Result<Option<UserId>> {
    match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        Some(raw) => user_id(raw, noun).map(Some),
        None => Ok(None),
    }
}

/// Finds a live workspace by id or slug, or says which one is missing.
pub fn resolve_workspace(conn: &mut PgConnection, key: &WorkspaceKey) -> Result<WorkspaceRow> {
    let found = match key {
        WorkspaceKey::Id(id) => crate::store::workspaces::find(conn, id)?,
        WorkspaceKey::Slug(slug) => crate::store::workspaces::find_by_slug(conn, slug)?,
    };
    found.ok_or_else(|| IdentityError::NotFound(format!("workspace {key} not found")))
}

/// A live workspace by the id a row holds.
pub fn require_workspace(conn: &mut PgConnection, id: &WorkspaceId) -> Result<WorkspaceRow> {
    crate::store::workspaces::find(conn, id)?
        .ok_or_else(|| IdentityError::NotFound(format!("workspace {id} not found")))
}

/// The actor's membership, or 403 when they are not a member.
pub fn require_member(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    user_id: &UserId,
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
        if !member.role.manages_workspace() {
            return Err(IdentityError::Forbidden(format!(
                "only workspace owners and moderators can {do_what}"
            )));
        }
    }
    Ok(())
}

pub fn require_user(conn: &mut PgConnection, id: &UserId) -> Result<UserRow> {
    crate::store::users::find(conn, id)?
        .ok_or_else(|| IdentityError::NotFound(format!("user {id} not found")))
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
    for_user: Option<&UserId>,
) -> Result<()> {
    match crate::store::members::holder_of_handle(conn, &workspace.id, handle)? {
        Some(holder) if Some(&holder) != for_user => Err(handle_taken(workspace, handle)),
        _ => Ok(()),
    }
}

pub fn handle_taken(workspace: &WorkspaceRow, handle: &str) -> IdentityError {
    IdentityError::Conflict(format!(
        "handle @{handle} is already taken in workspace {}",
        workspace.slug
    ))
}
