//! What a signed-in human does for themselves (API.md §2, §3): edit their
//! profile, found, rename, hand over and delete workspaces, invite people
//! and accept invites. Bots never reach these (the gateway and the caller
//! policy both refuse them).

use super::audit::{self, Actor};
use super::auth::{self, AuthChange};
use super::rules::{self, Role};
use super::{conflict_on_duplicate, require_member, require_user, resolve_workspace};
use crate::error::{IdentityError, Result};
use crate::store::members::{self, MemberRow};
use crate::store::users::UserRow;
use crate::store::workspaces::{self, WorkspaceRow};
use crate::store::{invites, users};
use chrono::{Duration, Utc};
use clickclack_common::ids::{self, UserId, WorkspaceKey};
use clickclack_common::outbox::{EventDraft, record};
use clickclack_common::token::RawToken;
use diesel::{Connection, PgConnection};
use serde_json::json;

/// How long an invite link works.
pub const INVITE_TTL: Duration = Duration::days(7);
/// Raw invite secrets start with this.
pub const INVITE_PREFIX: &str = "cci_";

/// `PATCH /api/me`: each field is optional; a handle must be free in every
/// workspace the user belongs to.
pub fn update_profile(
    conn: &mut PgConnection,
    user_id: &UserId,
    display_name: Option<&str>,
    handle: Option<&str>,
    avatar_url: Option<&str>,
) -> Result<UserRow> {
    let display_name = display_name.map(rules::validate_display_name).transpose()?;
    let handle = handle.map(rules::normalize_handle).transpose()?;
    let avatar_url = avatar_url.map(|url| url.trim().to_owned());
    let bad_url = |url: &String| !rules::is_http_url_or_empty(url) || url.len() > 2048;
    if avatar_url.as_ref().is_some_and(bad_url) {
        return Err(IdentityError::Invalid(
            "avatar_url must be an http(s) URL of at most 2048 bytes".into(),
        ));
    }
    if display_name.is_none() && handle.is_none() && avatar_url.is_none() {
        return Err(IdentityError::Invalid(
            "nothing to update: give display_name, handle or avatar_url".into(),
        ));
    }
    conn.transaction(|conn| {
        let user = require_user(conn, user_id)?;
        if let Some(handle) = &handle
            && handle != &user.handle
        {
            members::rename_everywhere(conn, &user.id, handle).map_err(|e| {
                conflict_on_duplicate(e, || {
                    format!("handle @{handle} is taken in one of your workspaces")
                })
            })?;
        }
        let updated = users::update_profile(
            conn,
            &user.id,
            display_name.as_deref(),
            handle.as_deref(),
            avatar_url.as_deref(),
        )?;
        // Gateways cache who a credential belongs to, profile included.
        auth::announce(conn, AuthChange::Member, &user.id)?;
        Ok(updated)
    })
}

/// A new workspace founded by a signed-in human, who becomes its owner.
pub fn found_workspace(
    conn: &mut PgConnection,
    owner_id: &UserId,
    name: &str,
    slug: &str,
) -> Result<WorkspaceRow> {
    conn.transaction(|conn| {
        let owner = require_user(conn, owner_id)?;
        let workspace = super::workspaces::create_workspace(conn, name, slug)?;
        super::workspaces::make_owner(conn, &workspace, &owner)?;
        Ok(workspace)
    })
}

fn require_owner(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    user_id: &UserId,
) -> Result<()> {
    let member = require_member(conn, workspace, user_id)?;
    if member.role == Role::Owner {
        Ok(())
    } else {
        Err(IdentityError::Forbidden(
            "only a workspace owner can do this".into(),
        ))
    }
}

/// Soft delete: the workspace disappears from every lookup and every token
/// and session scoped to it stops working at once.
pub fn delete_workspace(
    conn: &mut PgConnection,
    actor_id: &UserId,
    key: &WorkspaceKey,
) -> Result<WorkspaceRow> {
    conn.transaction(|conn| {
        let workspace = resolve_workspace(conn, key)?;
        require_owner(conn, &workspace, actor_id)?;
        let deleted = workspaces::soft_delete(conn, &workspace.id, Utc::now())?;
        audit::record(
            conn,
            &workspace.id,
            &Actor::User(actor_id.clone()),
            "workspace.deleted",
            &workspace.id,
            json!({ "slug": workspace.slug }),
        )?;
        // Every gateway drops what it cached before this answers.
        auth::announce(conn, AuthChange::Member, &workspace.id)?;
        Ok(deleted)
    })
}

/// The owner hands the workspace to another human member, and stays on as
/// a moderator.
pub fn transfer_ownership(
    conn: &mut PgConnection,
    actor_id: &UserId,
    key: &WorkspaceKey,
    new_owner_id: &UserId,
) -> Result<WorkspaceRow> {
    conn.transaction(|conn| {
        let workspace = resolve_workspace(conn, key)?;
        require_owner(conn, &workspace, actor_id)?;
        if new_owner_id == actor_id {
            return Err(IdentityError::Invalid(
                "you already own this workspace".into(),
            ));
        }
        let target = members::find(conn, &workspace.id, new_owner_id)?.ok_or_else(|| {
            IdentityError::NotFound(format!("{new_owner_id} is not a member of this workspace"))
        })?;
        if target.role == Role::Bot {
            return Err(IdentityError::Invalid(
                "a bot cannot own a workspace".into(),
            ));
        }
        members::set_role(conn, &workspace.id, new_owner_id, Role::Owner)?;
        members::set_role(conn, &workspace.id, actor_id, Role::Moderator)?;
        audit::record(
            conn,
            &workspace.id,
            &Actor::User(actor_id.clone()),
            "workspace.ownership_transferred",
            &workspace.id,
            json!({ "from": actor_id, "to": new_owner_id }),
        )?;
        record(
            conn,
            EventDraft::new("workspace.updated", &workspace.id)
                .with("workspace_id", json!(workspace.id))
                .with("owner_user_id", json!(new_owner_id)),
        )?;
        // Roles are part of what gateways cache.
        auth::announce(conn, AuthChange::Member, actor_id)?;
        Ok(workspace)
    })
}

/// A one-time invite link's secret, made by an owner or moderator.
pub fn create_invite(
    conn: &mut PgConnection,
    actor_id: &UserId,
    key: &WorkspaceKey,
) -> Result<(invites::InviteRow, RawToken)> {
    conn.transaction(|conn| {
        let workspace = resolve_workspace(conn, key)?;
        super::require_manager(
            conn,
            &workspace,
            &Actor::User(actor_id.clone()),
            "make invite links",
        )?;
        let secret = RawToken::generate(INVITE_PREFIX);
        let now = Utc::now();
        let invite = invites::insert(
            conn,
            &invites::InviteRow {
                id: ids::new_id(ids::INVITE),
                token_hash: secret.hash().as_bytes().to_vec(),
                workspace_id: workspace.id.clone(),
                created_by: actor_id.clone(),
                created_at: now,
                expires_at: now + INVITE_TTL,
                accepted_by: None,
                accepted_at: None,
            },
        )?;
        audit::record(
            conn,
            &workspace.id,
            &Actor::User(actor_id.clone()),
            "invite.created",
            &invite.id,
            json!({ "expires_at": invite.expires_at }),
        )?;
        Ok((invite, secret))
    })
}

/// A signed-in human joins through an invite; it then stops working.
/// Someone already a member keeps their role and the invite stays unused.
pub fn accept_invite(
    conn: &mut PgConnection,
    user_id: &UserId,
    presented: &RawToken,
) -> Result<(WorkspaceRow, MemberRow)> {
    let gone = || IdentityError::NotFound("invite not found, expired or already used".into());
    if !presented.is_well_formed(INVITE_PREFIX) {
        return Err(gone());
    }
    conn.transaction(|conn| {
        let invite =
            invites::lock_open(conn, presented.hash().as_bytes(), Utc::now())?.ok_or_else(gone)?;
        let workspace = super::require_workspace(conn, &invite.workspace_id).map_err(|_| gone())?;
        if let Some(member) = members::find(conn, &workspace.id, user_id)? {
            return Ok((workspace, member));
        }
        let (member, _) = super::members::add_member(
            conn,
            &WorkspaceKey::from(workspace.id.clone()),
            user_id,
            Role::Member.as_str(),
        )?;
        invites::mark_accepted(conn, &invite.id, user_id, Utc::now())?;
        Ok((workspace, member))
    })
}
