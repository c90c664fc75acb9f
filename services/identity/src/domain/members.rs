use super::audit::{self, Actor};
use super::auth::{self, AuthChange};
use super::rules::{self, Role, UserKind};
use super::{
    conflict_on_duplicate, ensure_handle_free, handle_taken, require_user, resolve_workspace,
};
use crate::error::{IdentityError, Result};
use crate::store::members::{self, MemberRow};
use crate::store::users::UserRow;
use crate::store::workspaces::WorkspaceRow;
use crate::store::{bots, commands, tokens};
use chrono::Utc;
use clickclack_common::ids::{UserId, WorkspaceId, WorkspaceKey};
use clickclack_common::outbox::{EventDraft, record};
use diesel::{Connection, PgConnection};
use serde_json::json;

/// Adds a user to a workspace, or changes the role of one already there.
pub fn add_member(
    conn: &mut PgConnection,
    workspace_key: &WorkspaceKey,
    user_id: &UserId,
    role: &str,
) -> Result<(MemberRow, UserRow)> {
    conn.transaction(|conn| {
        let workspace = resolve_workspace(conn, workspace_key)?;
        let user = require_user(conn, user_id)?;
        let role = if user.kind == UserKind::Bot {
            // A bot is installed into one workspace; it may only come back there.
            let home = bots::find(conn, &user.id)?.map(|bot| bot.workspace_id);
            if home.as_ref() != Some(&workspace.id) {
                return Err(IdentityError::Invalid(format!(
                    "bot {} belongs to another workspace; install bots with `admin bot create`",
                    user.id
                )));
            }
            Role::Bot
        } else {
            rules::parse_human_role(role)?
        };

        if let Some(existing) = members::find_for_update(conn, &workspace.id, &user.id)? {
            if existing.role == role {
                return Ok((existing, user));
            }
            if existing.role == Role::Owner {
                ensure_not_last_owner(conn, &workspace, &user.id)?;
            }
            let updated = members::set_role(conn, &workspace.id, &user.id, role)?;
            audit::record(
                conn,
                &workspace.id,
                &Actor::Operator,
                "member.role_changed",
                &user.id,
                json!({"from": existing.role, "to": updated.role}),
            )?;
            // Cached human principals carry the role.
            auth::announce(conn, AuthChange::Member, &user.id)?;
            return Ok((updated, user));
        }

        ensure_handle_free(conn, &workspace, &user.handle, Some(&user.id))?;
        joined(conn, &workspace.id, &user, role)?;
        let member = members::insert(
            conn,
            &MemberRow {
                workspace_id: workspace.id.clone(),
                user_id: user.id.clone(),
                role,
                handle: user.handle.clone(),
                joined_at: Utc::now(),
            },
        )
        .map_err(|e| {
            conflict_on_duplicate(e, || handle_taken(&workspace, &user.handle).to_string())
        })?;
        audit::record(
            conn,
            &workspace.id,
            &Actor::Operator,
            "member.added",
            &user.id,
            json!({"kind": user.kind, "role": member.role}),
        )?;
        Ok((member, user))
    })
}

/// Removes a member. A removed bot loses its tokens and command menu for the
/// workspace; the tokens of bots the removed user owns stop working at once
/// because every authentication re-checks the owner's membership.
pub fn remove_member(
    conn: &mut PgConnection,
    workspace_key: &WorkspaceKey,
    user_id: &UserId,
) -> Result<(MemberRow, UserRow)> {
    conn.transaction(|conn| {
        let workspace = resolve_workspace(conn, workspace_key)?;
        let user = require_user(conn, user_id)?;
        let member = members::find_for_update(conn, &workspace.id, &user.id)?.ok_or_else(|| {
            IdentityError::NotFound(format!(
                "user {} is not a member of workspace {}",
                user.id, workspace.slug
            ))
        })?;
        remove(conn, &workspace, &user, &member, &Actor::Operator)?;
        Ok((member, user))
    })
}

/// The one place a member leaves a workspace (removal by an operator, a
/// manager, or the bot routes): deletes the locked membership with
/// everything that goes with it: a bot's tokens and menu, the audit entry, the `member.removed` event and the
/// notice that makes gateways drop cached authentications. Returns how many
/// bot tokens were revoked.
pub fn remove(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    user: &UserRow,
    member: &MemberRow,
    actor: &Actor,
) -> Result<usize> {
    if member.role == Role::Owner {
        ensure_not_last_owner(conn, workspace, &user.id)?;
    }
    let revoked = if user.kind == UserKind::Bot {
        // A bot's credentials in this workspace go with its membership.
        let revoked = tokens::revoke_all_for_bot(conn, &user.id, &workspace.id, Utc::now())?;
        commands::delete_for_bot(conn, &user.id, &workspace.id)?;
        revoked
    } else {
        0
    };
    // The user-owned bots whose tokens stop working with this removal.
    let disabled_bots: Vec<UserId> = bots::list_in_workspace(conn, &workspace.id)?
        .into_iter()
        .filter(|bot| bot.owner_user_id.as_ref() == Some(&user.id))
        .map(|bot| bot.id)
        .collect();
    members::delete(conn, &workspace.id, &user.id)?;
    record(
        conn,
        EventDraft::new("member.removed", &workspace.id)
            .with("user_id", json!(user.id))
            .with("role", json!(member.role)),
    )?;
    let action = if user.kind == UserKind::Bot {
        "bot.removed"
    } else {
        "member.removed"
    };
    audit::record(
        conn,
        &workspace.id,
        actor,
        action,
        &user.id,
        json!({
            "role": member.role,
            "revoked_tokens": revoked,
            "disabled_bots": disabled_bots,
        }),
    )?;
    auth::announce(conn, AuthChange::Member, &user.id)?;
    Ok(revoked)
}

pub fn list_members(
    conn: &mut PgConnection,
    workspace_key: &WorkspaceKey,
) -> Result<(WorkspaceRow, Vec<(MemberRow, UserRow)>)> {
    let workspace = resolve_workspace(conn, workspace_key)?;
    let members = members::list_with_users(conn, &workspace.id)?;
    Ok((workspace, members))
}

/// Records `member.joined` for a new member.
pub fn joined(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user: &UserRow,
    role: Role,
) -> Result<()> {
    record(
        conn,
        EventDraft::new("member.joined", workspace_id)
            .with("user_id", json!(user.id))
            .with("kind", json!(user.kind))
            .with("role", json!(role)),
    )?;
    Ok(())
}

/// A workspace always keeps at least one owner.
fn ensure_not_last_owner(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    user_id: &UserId,
) -> Result<()> {
    let owners = members::owners_for_update(conn, &workspace.id)?;
    if owners.iter().all(|owner| owner == user_id) {
        return Err(IdentityError::Conflict(format!(
            "user {user_id} is the last owner of workspace {}; make someone else an owner first",
            workspace.slug
        )));
    }
    Ok(())
}

/// A member named by user id or by handle (`@name` works too), with the
/// user; `None` when no such member exists.
pub fn find_member(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_or_handle: &str,
) -> Result<Option<(MemberRow, UserRow)>> {
    let member = if user_or_handle.starts_with(clickclack_common::ids::USER) {
        match UserId::parse(user_or_handle) {
            Some(user_id) => members::find(conn, workspace_id, &user_id)?,
            None => None,
        }
    } else {
        match super::rules::normalize_handle(user_or_handle) {
            Ok(handle) => members::find_by_handle(conn, workspace_id, &handle)?,
            Err(_) => None,
        }
    };
    match member {
        Some(member) => {
            let user = require_user(conn, &member.user_id)?;
            Ok(Some((member, user)))
        }
        None => Ok(None),
    }
}
