use super::audit::Actor;
use super::{conflict_on_duplicate, rules};
use crate::error::Result;
use crate::store::members::{self, MemberRow};
use crate::store::users::{self, UserRow};
use crate::store::workspaces::{self, WorkspaceRow};
use chrono::Utc;
use clickclack_common::ids::{UserId, WorkspaceId, WorkspaceKey};
use clickclack_common::outbox::{EventDraft, record};
use clickclack_common::roles::Role;
use diesel::{Connection, PgConnection};
use serde_json::json;

/// Workspaces with the member's role in each, or, without a member, every
/// workspace of the deployment (operators' listing) with no role.
pub fn list(
    conn: &mut PgConnection,
    member_user_id: Option<&UserId>,
) -> Result<Vec<(WorkspaceRow, Option<Role>)>> {
    Ok(match member_user_id {
        Some(user_id) => workspaces::list_for_member(conn, user_id)?
            .into_iter()
            .map(|(workspace, role)| (workspace, Some(role)))
            .collect(),
        None => workspaces::list(conn)?
            .into_iter()
            .map(|workspace| (workspace, None))
            .collect(),
    })
}

pub fn create_workspace(conn: &mut PgConnection, name: &str, slug: &str) -> Result<WorkspaceRow> {
    let row = new_workspace(name, slug)?;
    workspaces::insert(conn, &row).map_err(|e| {
        conflict_on_duplicate(e, || {
            format!("workspace slug {} is already taken", row.slug)
        })
    })
}

fn new_workspace(name: &str, slug: &str) -> Result<WorkspaceRow> {
    let name = rules::validate_display_name(name).map_err(|_| {
        crate::error::IdentityError::Invalid(
            "workspace name is required and at most 80 bytes".into(),
        )
    })?;
    let slug = if slug.trim().is_empty() {
        rules::derive_slug(&name)?
    } else {
        rules::validate_slug(slug)?
    };
    Ok(WorkspaceRow {
        id: WorkspaceId::generate(),
        slug,
        name,
        icon_url: String::new(),
        created_at: Utc::now(),
        deleted_at: None,
    })
}

/// Renames a workspace, changes its slug or icon (owners and moderators, or
/// an operator); records `workspace.updated`.
pub fn update_workspace(
    conn: &mut PgConnection,
    key: &WorkspaceKey,
    actor: &Actor,
    name: Option<&str>,
    slug: Option<&str>,
    icon_url: Option<&str>,
) -> Result<WorkspaceRow> {
    // Who may is decided before what was sent is looked at.
    let workspace = super::resolve_workspace(conn, key)?;
    super::require_manager(conn, &workspace, actor, "change the workspace")?;
    let name = name
        .map(|n| {
            rules::validate_display_name(n).map_err(|_| {
                crate::error::IdentityError::Invalid(
                    "workspace name is required and at most 80 bytes".into(),
                )
            })
        })
        .transpose()?;
    let slug = slug.map(rules::validate_slug).transpose()?;
    if icon_url.is_some_and(|url| !rules::is_http_url_or_empty(url.trim())) {
        return Err(crate::error::IdentityError::Invalid(
            "icon_url must be an http(s) URL".into(),
        ));
    }
    if name.is_none() && slug.is_none() && icon_url.is_none() {
        return Err(crate::error::IdentityError::Invalid(
            "nothing to update: give a name, slug or icon_url".into(),
        ));
    }
    conn.transaction(|conn| {
        let updated = workspaces::update(
            conn,
            &workspace.id,
            name.as_deref(),
            slug.as_deref(),
            icon_url.map(str::trim),
        )
        .map_err(|e| {
            conflict_on_duplicate(e, || "that workspace slug is already taken".to_owned())
        })?;
        record(
            conn,
            EventDraft::new("workspace.updated", &updated.id)
                .with("workspace_id", json!(updated.id))
                .with("name", json!(updated.name)),
        )?;
        Ok(updated)
    })
}

/// A workspace and its human owner, in one transaction. An existing user
/// with the same email becomes the owner instead of a duplicate.
pub fn bootstrap(
    conn: &mut PgConnection,
    owner_name: &str,
    owner_email: &str,
    workspace_name: &str,
    workspace_slug: &str,
) -> Result<(WorkspaceRow, UserRow)> {
    conn.transaction(|conn| {
        let email = rules::normalize_email(owner_email)?;
        let owner = match users::find_by_email(conn, &email)? {
            Some(existing) => existing,
            None => super::users::create_human(conn, owner_name, &email, "")?,
        };
        let workspace = create_workspace(conn, workspace_name, workspace_slug)?;
        make_owner(conn, &workspace, &owner)?;
        Ok((workspace, owner))
    })
}

/// Makes a human the first member and owner of a new workspace.
pub fn make_owner(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    owner: &UserRow,
) -> Result<()> {
    members::insert(
        conn,
        &MemberRow {
            workspace_id: workspace.id.clone(),
            user_id: owner.id.clone(),
            role: Role::Owner,
            handle: owner.handle.clone(),
            joined_at: Utc::now(),
        },
    )?;
    super::members::joined(conn, &workspace.id, owner, Role::Owner)
}
