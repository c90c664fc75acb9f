//! The audit trail: who changed which bot, token or membership, and when.
//! Entries are written in the same transaction as the change they describe.

use super::resolve_workspace;
use crate::error::Result;
use crate::store::audit::{self, AuditRow};
use crate::store::workspaces::WorkspaceRow;
use chrono::Utc;
use clickclack_common::ids::{self, UserId, WorkspaceId, WorkspaceKey};
use diesel::PgConnection;
use serde_json::Value;

/// Who is acting: a human through the API, or an operator at the CLI (who
/// acts for the deployment and is recorded without a user id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Operator,
    User(UserId),
}

impl Actor {
    pub fn from_optional(user_id: Option<UserId>) -> Actor {
        match user_id {
            Some(id) => Actor::User(id),
            None => Actor::Operator,
        }
    }

    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Actor::Operator => None,
            Actor::User(id) => Some(id),
        }
    }
}

pub fn record(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    actor: &Actor,
    action: &str,
    target_id: &str,
    detail: Value,
) -> Result<()> {
    audit::insert(
        conn,
        &AuditRow {
            id: ids::new_id(ids::AUDIT),
            workspace_id: workspace_id.clone(),
            actor_user_id: actor.user_id().cloned(),
            action: action.into(),
            target_id: target_id.into(),
            detail,
            created_at: Utc::now(),
        },
    )?;
    Ok(())
}

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 500;

/// The workspace's log, newest first. Only owners and moderators (or an
/// operator) may read it.
pub fn list(
    conn: &mut PgConnection,
    workspace_key: &WorkspaceKey,
    actor: &Actor,
    limit: u32,
    before: &str,
) -> Result<(WorkspaceRow, Vec<AuditRow>)> {
    let workspace = resolve_workspace(conn, workspace_key)?;
    super::require_manager(conn, &workspace, actor, "read the audit log")?;
    let limit = match limit {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    };
    let before = Some(before.trim()).filter(|b| !b.is_empty());
    let rows = audit::list(conn, &workspace.id, before, i64::from(limit))?;
    Ok((workspace, rows))
}
