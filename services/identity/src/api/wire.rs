//! Rows to protobuf. Typed ids and roles become the wire's strings here,
//! and nowhere else.

use crate::domain::rules::Role;
use crate::store::audit::AuditRow;
use crate::store::commands::BotCommandRow;
use crate::store::members::MemberRow;
use crate::store::setup_codes::SetupCodeRow;
use crate::store::tokens::BotTokenRow;
use crate::store::users::UserRow;
use crate::store::workspaces::WorkspaceRow;
use clickclack_common::ids::UserId;
use clickclack_common::time::rfc3339;
use clickclack_proto::identity as pb;

pub(super) fn user_pb(user: UserRow) -> pb::User {
    pb::User {
        id: user.id.into(),
        kind: user.kind.as_str().into(),
        display_name: user.display_name,
        handle: user.handle,
        avatar_url: user.avatar_url,
        created_at: rfc3339(&user.created_at),
        owner_user_id: user.owner_user_id.map(String::from),
        email: user.email,
    }
}

/// `role`: the caller's role there, when the answer is about them.
pub(super) fn workspace_pb(workspace: WorkspaceRow, role: Option<Role>) -> pb::Workspace {
    pb::Workspace {
        id: workspace.id.into(),
        slug: workspace.slug,
        name: workspace.name,
        icon_url: workspace.icon_url,
        created_at: rfc3339(&workspace.created_at),
        role: role.map(|role| role.as_str().into()),
    }
}

pub(super) fn member_pb(member: MemberRow, user: UserRow) -> pb::Member {
    pb::Member {
        workspace_id: member.workspace_id.into(),
        role: member.role.as_str().into(),
        joined_at: rfc3339(&member.joined_at),
        user: Some(user_pb(user)),
    }
}

/// `owner_user_id`: the bot's owner, which the token row does not hold.
pub(super) fn token_pb(token: BotTokenRow, owner_user_id: Option<UserId>) -> pb::BotToken {
    pb::BotToken {
        id: token.id,
        bot_user_id: token.bot_user_id.into(),
        workspace_id: token.workspace_id.into(),
        owner_user_id: owner_user_id.map(String::from),
        name: token.name,
        scopes: token.scopes,
        created_by: token.created_by.map(String::from),
        created_at: rfc3339(&token.created_at),
        last_used_at: token.last_used_at.as_ref().map(rfc3339),
        revoked_at: token.revoked_at.as_ref().map(rfc3339),
        replaces_token_id: token.replaces_token_id,
    }
}

pub(super) fn setup_code_pb(row: SetupCodeRow) -> pb::SetupCode {
    pb::SetupCode {
        id: row.id,
        bot_user_id: row.bot_user_id.into(),
        workspace_id: row.workspace_id.into(),
        token_name: row.token_name,
        scopes: row.scopes,
        defaults_json: row.defaults.to_string(),
        created_by: row.created_by.map(String::from),
        created_at: rfc3339(&row.created_at),
        expires_at: rfc3339(&row.expires_at),
        claimed_at: row.claimed_at.as_ref().map(rfc3339),
    }
}

pub(super) fn audit_entry_pb(row: AuditRow) -> pb::AuditEntry {
    pb::AuditEntry {
        id: row.id,
        workspace_id: row.workspace_id.into(),
        actor_user_id: row.actor_user_id.map(String::from),
        action: row.action,
        target_id: row.target_id,
        detail_json: row.detail.to_string(),
        created_at: rfc3339(&row.created_at),
    }
}

pub(super) fn command_list_pb(rows: Vec<BotCommandRow>) -> pb::BotCommandList {
    pb::BotCommandList {
        bot_commands: rows
            .into_iter()
            .map(|row| pb::BotCommand {
                bot_user_id: row.bot_user_id.into(),
                command: row.command,
                description: row.description,
                args_hint: row.args_hint,
                id: row.id,
                workspace_id: row.workspace_id.into(),
                created_at: rfc3339(&row.created_at),
                updated_at: rfc3339(&row.updated_at),
            })
            .collect(),
    }
}
