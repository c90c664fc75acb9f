//! Bot installs: the bot user, its membership and its scoped tokens.

use super::audit::{self, Actor};
use super::auth::{self, AuthChange};
use super::rules;
use super::{
    conflict_on_duplicate, ensure_handle_free, handle_taken, require_workspace, resolve_workspace,
};
use crate::error::{IdentityError, Result};
use crate::store::bots::{self, BotRow};
use crate::store::members::{self, MemberRow};
use crate::store::tokens::{self, BotTokenRow};
use crate::store::users::{self, UserRow};
use crate::store::workspaces::WorkspaceRow;
use chrono::{Duration, Utc};
use clickclack_common::ids::{self, UserId, WorkspaceId, WorkspaceKey};
use clickclack_common::roles::{Role, UserKind};
use clickclack_common::scopes;
use clickclack_common::token::{BOT_TOKEN_PREFIX, RawToken};
use diesel::{Connection, PgConnection};
use serde_json::json;

/// The longest grace period a rotation may give the old token.
pub const MAX_ROTATION_GRACE: Duration = Duration::days(7);

/// What an operator asked for when creating a bot.
pub struct NewBot {
    pub workspace: WorkspaceKey,
    pub display_name: String,
    pub handle: String,
    pub avatar_url: String,
    pub owner_user_id: Option<UserId>,
    pub created_by: Option<UserId>,
    pub scopes: Vec<String>,
    pub token_name: String,
}

/// A freshly minted token: the stored row and the raw secret shown once.
pub struct IssuedToken {
    pub row: BotTokenRow,
    pub raw: RawToken,
}

pub fn create_bot(conn: &mut PgConnection, new: NewBot) -> Result<(UserRow, IssuedToken)> {
    let display_name = rules::validate_display_name(&new.display_name)?;
    let handle = if new.handle.trim().is_empty() {
        rules::derive_handle(&display_name)?
    } else {
        rules::normalize_handle(&new.handle)?
    };
    let scope_names = expand_scopes(&new.scopes)?;
    let token_name = validate_token_name(&new.token_name)?;
    let owner_user_id = new.owner_user_id;

    conn.transaction(|conn| {
        let workspace = resolve_workspace(conn, &new.workspace)?;
        let actor = Actor::from_optional(new.created_by.clone());
        if let Some(owner) = &owner_user_id {
            require_human_owner(conn, &workspace, owner)?;
        }
        authorize(
            conn,
            &workspace,
            owner_user_id.as_ref(),
            &actor,
            BotAction::Manage,
        )?;
        // A user-owned bot made by an operator is recorded as made by its owner.
        let created_by = actor.user_id().or(owner_user_id.as_ref()).cloned();
        ensure_handle_free(conn, &workspace, &handle, None)?;

        let now = Utc::now();
        let bot = users::insert(
            conn,
            &UserRow {
                id: UserId::generate(),
                kind: UserKind::Bot,
                display_name,
                handle: handle.clone(),
                email: None,
                avatar_url: new.avatar_url.trim().to_owned(),
                owner_user_id,
                created_at: now,
            },
        )?;
        bots::insert(
            conn,
            &BotRow {
                user_id: bot.id.clone(),
                workspace_id: workspace.id.clone(),
                created_by: created_by.clone(),
                created_at: now,
            },
        )?;
        members::insert(
            conn,
            &MemberRow {
                workspace_id: workspace.id.clone(),
                user_id: bot.id.clone(),
                role: Role::Bot,
                handle: handle.clone(),
                joined_at: now,
            },
        )
        .map_err(|e| conflict_on_duplicate(e, || handle_taken(&workspace, &handle).to_string()))?;
        super::members::joined(conn, &workspace.id, &bot, Role::Bot)?;
        let token = issue_token(
            conn,
            &bot.id,
            &workspace.id,
            &token_name,
            scope_names,
            created_by,
            None,
        )?;
        audit::record(
            conn,
            &workspace.id,
            &actor,
            "bot.created",
            &bot.id,
            json!({
                "handle": bot.handle,
                "owner_user_id": bot.owner_user_id,
                "token_id": token.row.id,
                "token_name": token.row.name,
                "scopes": token.row.scopes,
            }),
        )?;
        Ok((bot, token))
    })
}

/// Mints another token for a bot that is a member of the workspace.
pub fn create_token(
    conn: &mut PgConnection,
    workspace_key: Option<&WorkspaceKey>,
    bot_user_id: &UserId,
    name: &str,
    requested_scopes: &[String],
    created_by: Option<UserId>,
) -> Result<(UserRow, IssuedToken)> {
    let scope_names = expand_scopes(requested_scopes)?;
    let token_name = validate_token_name(name)?;
    let actor = Actor::from_optional(created_by);
    conn.transaction(|conn| {
        let target = minting_target(conn, workspace_key, bot_user_id, &actor)?;
        let token = mint(conn, &target, &token_name, scope_names, &actor, json!({}))?;
        Ok((target.bot, token))
    })
}

/// A bot a token may be minted for, where, and who is recorded as minting.
pub(super) struct MintTarget {
    pub bot: UserRow,
    pub workspace: WorkspaceRow,
    pub created_by: Option<UserId>,
}

/// Checks that `actor` may mint a token for the bot (API.md §10's rules).
pub(super) fn minting_target(
    conn: &mut PgConnection,
    workspace_key: Option<&WorkspaceKey>,
    bot_user_id: &UserId,
    actor: &Actor,
) -> Result<MintTarget> {
    let (bot, workspace) = installed_bot(conn, workspace_key, bot_user_id)?;
    let created_by = authorize_minting(conn, &workspace, &bot, actor)?;
    Ok(MintTarget {
        bot,
        workspace,
        created_by,
    })
}

/// Issues the token and records `bot_token.created`; `detail` adds to the
/// audit entry (a setup code's id, say).
pub(super) fn mint(
    conn: &mut PgConnection,
    target: &MintTarget,
    token_name: &str,
    scope_names: Vec<String>,
    actor: &Actor,
    detail: serde_json::Value,
) -> Result<IssuedToken> {
    let token = issue_token(
        conn,
        &target.bot.id,
        &target.workspace.id,
        token_name,
        scope_names,
        target.created_by.clone(),
        None,
    )?;
    let mut entry = json!({
        "bot_user_id": target.bot.id,
        "name": token.row.name,
        "scopes": token.row.scopes,
    });
    if let (Some(entry), Some(extra)) = (entry.as_object_mut(), detail.as_object()) {
        entry.extend(extra.clone());
    }
    audit::record(
        conn,
        &target.workspace.id,
        actor,
        "bot_token.created",
        &token.row.id,
        entry,
    )?;
    Ok(token)
}

/// The workspace's bots, each with its tokens there (newest first). Owners,
/// moderators and operators see every bot; other members only their own.
pub fn list_bots(
    conn: &mut PgConnection,
    workspace_key: &WorkspaceKey,
    actor: &Actor,
) -> Result<Vec<(UserRow, Vec<BotTokenRow>)>> {
    let workspace = resolve_workspace(conn, workspace_key)?;
    let sees_all = match actor {
        Actor::Operator => true,
        Actor::User(id) => {
            let member = super::require_member(conn, &workspace, id)?;
            member.role.manages_workspace()
        }
    };
    let mut listed = Vec::new();
    for bot in bots::list_in_workspace(conn, &workspace.id)? {
        let visible = sees_all || bot.owner_user_id.as_ref() == actor.user_id();
        // A removed bot is no longer the workspace's.
        if visible && members::find(conn, &workspace.id, &bot.id)?.is_some() {
            let tokens = tokens::list_for_bot(conn, &bot.id, &workspace.id)?;
            listed.push((bot, tokens));
        }
    }
    Ok(listed)
}

pub fn list_tokens(
    conn: &mut PgConnection,
    workspace_key: Option<&WorkspaceKey>,
    bot_user_id: &UserId,
    actor: &Actor,
) -> Result<(UserRow, Vec<BotTokenRow>)> {
    let (bot, workspace) = installed_bot(conn, workspace_key, bot_user_id)?;
    authorize(
        conn,
        &workspace,
        bot.owner_user_id.as_ref(),
        actor,
        BotAction::Oversee,
    )?;
    let tokens = tokens::list_for_bot(conn, &bot.id, &workspace.id)?;
    Ok((bot, tokens))
}

/// Revokes a token now. Revoking twice is harmless and keeps the first
/// time; revoking a token in its rotation grace period ends the grace.
pub fn revoke_token(
    conn: &mut PgConnection,
    token_id: &str,
    workspace_key: Option<&WorkspaceKey>,
    actor: &Actor,
) -> Result<(UserRow, BotTokenRow)> {
    conn.transaction(|conn| {
        let (bot, token, _) = locate_token(conn, token_id, workspace_key, actor)?;
        let was_live = token.revoked_at.is_none_or(|at| at > Utc::now());
        let token = tokens::revoke(conn, &token.id, Utc::now())?
            .ok_or_else(|| token_not_found(token_id))?;
        if was_live {
            audit::record(
                conn,
                &token.workspace_id,
                actor,
                "bot_token.revoked",
                &token.id,
                json!({"bot_user_id": bot.id, "name": token.name}),
            )?;
            auth::announce(conn, AuthChange::Token, &token.id)?;
        }
        Ok((bot, token))
    })
}

/// What a rotation made: the new token and the old one, now ending.
pub struct Rotation {
    pub bot: UserRow,
    pub issued: IssuedToken,
    pub replaced: BotTokenRow,
}

/// Mints a token with the old one's name and scopes; the old one keeps
/// working for `grace` and is refused after that.
pub fn rotate_token(
    conn: &mut PgConnection,
    token_id: &str,
    workspace_key: Option<&WorkspaceKey>,
    grace: Duration,
    actor: &Actor,
) -> Result<Rotation> {
    if grace < Duration::zero() || grace > MAX_ROTATION_GRACE {
        return Err(IdentityError::Invalid(
            "the grace period must be between 0 and 7 days".into(),
        ));
    }
    conn.transaction(|conn| {
        let (bot, old, workspace) = locate_token(conn, token_id, workspace_key, actor)?;
        let old =
            tokens::find_for_update(conn, &old.id)?.ok_or_else(|| token_not_found(token_id))?;
        if old.revoked_at.is_some() {
            return Err(IdentityError::Conflict(format!(
                "bot token {} is already revoked or being rotated",
                old.id
            )));
        }
        let created_by = authorize_minting(conn, &workspace, &bot, actor)?;
        let issued = issue_token(
            conn,
            &bot.id,
            &workspace.id,
            &old.name,
            old.scopes.clone(),
            created_by,
            Some(old.id.clone()),
        )?;
        let now = Utc::now();
        let replaced =
            tokens::revoke(conn, &old.id, now + grace)?.ok_or_else(|| token_not_found(token_id))?;
        audit::record(
            conn,
            &workspace.id,
            actor,
            "bot_token.rotated",
            &old.id,
            json!({
                "bot_user_id": bot.id,
                "name": old.name,
                "new_token_id": issued.row.id,
                "grace_seconds": grace.num_seconds(),
                "old_token_revoked_at": clickclack_common::time::rfc3339(&(now + grace)),
            }),
        )?;
        // Gateways must pick up the old token's new end time.
        auth::announce(conn, AuthChange::Token, &old.id)?;
        Ok(Rotation {
            bot,
            issued,
            replaced,
        })
    })
}

/// Takes a bot out of its workspace: its membership, every token there and
/// its command menu go in one transaction.
pub fn remove_bot(
    conn: &mut PgConnection,
    workspace_key: Option<&WorkspaceKey>,
    bot_user_id: &UserId,
    actor: &Actor,
) -> Result<(UserRow, usize, WorkspaceRow)> {
    conn.transaction(|conn| {
        let (bot, workspace) = installed_bot(conn, workspace_key, bot_user_id)?;
        super::require_manager(conn, &workspace, actor, "remove bots")?;
        let member = members::find_for_update(conn, &workspace.id, &bot.id)?.ok_or_else(|| {
            IdentityError::NotFound(format!(
                "bot {} is not a member of workspace {}",
                bot.id, workspace.slug
            ))
        })?;
        let revoked = super::members::remove(conn, &workspace, &bot, &member, actor)?;
        Ok((bot, revoked, workspace))
    })
}

/// The user-owned bots a human owns, with the workspace each lives in and
/// how many of its tokens still work.
pub fn list_owned(
    conn: &mut PgConnection,
    owner_user_id: &UserId,
) -> Result<Vec<(UserRow, WorkspaceRow, i64)>> {
    let now = Utc::now();
    let mut owned = Vec::new();
    for (bot, workspace) in bots::list_owned_by(conn, owner_user_id)? {
        // Only bots still installed count as the human's bots.
        if members::find(conn, &workspace.id, &bot.id)?.is_some() {
            let active = tokens::count_active_for_bot(conn, &bot.id, &workspace.id, now)?;
            owned.push((bot, workspace, active));
        }
    }
    Ok(owned)
}

/// Finds a token (and its bot), checking it lives in `workspace_key` when
/// one is named, so a URL for one workspace never touches another's token.
/// Only a token the actor may see is found. A token they may not see answers the
/// same "not found" as a token that does not exist, whatever its state, so
/// no answer tells an outsider that it exists or whether it is revoked.
/// Answers the bot, the token and the token's workspace.
fn locate_token(
    conn: &mut PgConnection,
    token_id: &str,
    workspace_key: Option<&WorkspaceKey>,
    actor: &Actor,
) -> Result<(UserRow, BotTokenRow, WorkspaceRow)> {
    let token = tokens::find(conn, token_id.trim())?.ok_or_else(|| token_not_found(token_id))?;
    if let Some(key) = workspace_key {
        let workspace = resolve_workspace(conn, key)?;
        if workspace.id != token.workspace_id {
            return Err(token_not_found(token_id));
        }
    }
    let bot = require_bot(conn, &token.bot_user_id)?;
    let workspace = require_workspace(conn, &token.workspace_id)?;
    let visible = authorize(
        conn,
        &workspace,
        bot.owner_user_id.as_ref(),
        actor,
        BotAction::Oversee,
    );
    match visible {
        Err(IdentityError::Forbidden(_)) => Err(token_not_found(token_id)),
        other => other.map(|()| (bot, token, workspace)),
    }
}

fn token_not_found(token_id: &str) -> IdentityError {
    IdentityError::NotFound(format!("bot token {} not found", token_id.trim()))
}

fn issue_token(
    conn: &mut PgConnection,
    bot_user_id: &UserId,
    workspace_id: &WorkspaceId,
    name: &str,
    scopes: Vec<String>,
    created_by: Option<UserId>,
    replaces_token_id: Option<String>,
) -> Result<IssuedToken> {
    let raw = RawToken::generate(BOT_TOKEN_PREFIX);
    let row = tokens::insert(
        conn,
        &BotTokenRow {
            id: ids::new_id(ids::BOT_TOKEN),
            bot_user_id: bot_user_id.clone(),
            workspace_id: workspace_id.clone(),
            name: name.into(),
            token_hash: raw.hash().as_bytes().to_vec(),
            scopes,
            created_by,
            created_at: Utc::now(),
            last_used_at: None,
            revoked_at: None,
            replaces_token_id,
        },
    )?;
    Ok(IssuedToken { row, raw })
}

/// A bot and the workspace a request names for it (its own when none is
/// named), which must be where it is installed.
fn installed_bot(
    conn: &mut PgConnection,
    workspace_key: Option<&WorkspaceKey>,
    bot_user_id: &UserId,
) -> Result<(UserRow, WorkspaceRow)> {
    let bot = require_bot(conn, bot_user_id)?;
    let workspace = bot_workspace(conn, workspace_key, &bot)?;
    require_home(conn, &bot, &workspace)?;
    Ok((bot, workspace))
}

/// The named workspace, or the bot's own when none is named.
fn bot_workspace(
    conn: &mut PgConnection,
    workspace_key: Option<&WorkspaceKey>,
    bot: &UserRow,
) -> Result<WorkspaceRow> {
    if let Some(key) = workspace_key {
        return resolve_workspace(conn, key);
    }
    let home = bots::find(conn, &bot.id)?
        .ok_or_else(|| IdentityError::NotFound(format!("bot {} not found", bot.id)))?;
    require_workspace(conn, &home.workspace_id)
}

/// A bot named under a workspace's URL must live there; any other bot is
/// "not found", so one workspace learns nothing about another's bots.
fn require_home(conn: &mut PgConnection, bot: &UserRow, workspace: &WorkspaceRow) -> Result<()> {
    match bots::find(conn, &bot.id)? {
        Some(home) if home.workspace_id == workspace.id => Ok(()),
        _ => Err(IdentityError::NotFound(format!("bot {} not found", bot.id))),
    }
}

fn require_bot(conn: &mut PgConnection, id: &UserId) -> Result<UserRow> {
    users::find(conn, id)?
        .filter(|user| user.kind == UserKind::Bot)
        .ok_or_else(|| IdentityError::NotFound(format!("bot {id} not found")))
}

/// What an actor wants to do with a bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BotAction {
    /// Create it or mint (or rotate) its tokens.
    Manage,
    /// See or revoke its tokens.
    Oversee,
}

/// API.md §10: a service bot is managed by the workspace's owners and
/// moderators; a user-owned bot only by its owner. Managers may still see
/// and revoke a user-owned bot's tokens (to stop a runaway bot) but never
/// mint one for someone else's bot. Operators at the CLI may do anything.
fn authorize(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    bot_owner: Option<&UserId>,
    actor: &Actor,
    action: BotAction,
) -> Result<()> {
    let Actor::User(actor_id) = actor else {
        return Ok(());
    };
    let member = members::find(conn, &workspace.id, actor_id)?.ok_or_else(|| {
        IdentityError::Forbidden(format!(
            "{actor_id} is not a member of workspace {}",
            workspace.slug
        ))
    })?;
    let manages = member.role.manages_workspace();
    let owns = bot_owner == Some(actor_id);
    match (bot_owner, action) {
        (None, _) if manages => Ok(()),
        (None, _) => Err(IdentityError::Forbidden(format!(
            "only workspace owners and moderators can manage service bots; {actor_id} is a {}",
            member.role
        ))),
        (Some(_), _) if owns => Ok(()),
        (Some(_), BotAction::Oversee) if manages => Ok(()),
        (Some(owner), _) => Err(IdentityError::Forbidden(format!(
            "only the owner ({owner}) can create or mint tokens for a user-owned bot, not {actor_id}"
        ))),
    }
}

/// Checks that a token may be minted for an installed bot by `actor`, and
/// returns who is recorded as its creator.
fn authorize_minting(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    bot: &UserRow,
    actor: &Actor,
) -> Result<Option<UserId>> {
    if members::find(conn, &workspace.id, &bot.id)?.is_none() {
        return Err(IdentityError::Forbidden(format!(
            "bot {} is not a member of workspace {}",
            bot.id, workspace.slug
        )));
    }
    let owner = bot.owner_user_id.as_ref();
    if let Some(owner) = owner {
        require_human_owner(conn, workspace, owner)?;
    }
    authorize(conn, workspace, owner, actor, BotAction::Manage)?;
    // A user-owned bot's token minted by an operator is recorded as its owner's.
    Ok(actor.user_id().or(owner).cloned())
}

/// A user-owned bot's owner must be a human member of its workspace.
fn require_human_owner(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    owner_id: &UserId,
) -> Result<()> {
    let owner = users::find(conn, owner_id)?
        .ok_or_else(|| IdentityError::NotFound(format!("owner {owner_id} not found")))?;
    if owner.kind != UserKind::Human {
        return Err(IdentityError::Invalid(format!(
            "a bot cannot own a bot: {owner_id} is a bot"
        )));
    }
    if members::find(conn, &workspace.id, &owner.id)?.is_none() {
        return Err(IdentityError::Forbidden(format!(
            "owner {owner_id} is not a member of workspace {}",
            workspace.slug
        )));
    }
    Ok(())
}

pub(super) fn expand_scopes(requested: &[String]) -> Result<Vec<String>> {
    scopes::expand(requested)
        .map(|set| scopes::names(&set))
        .map_err(|e| IdentityError::Invalid(e.to_string()))
}

/// Token names label a runtime (`openclaw-prod`); default `default`.
pub(super) fn validate_token_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok("default".into());
    }
    if name.len() > 64 || name.chars().any(char::is_control) {
        return Err(IdentityError::Invalid(
            "token name must be at most 64 printable characters".into(),
        ));
    }
    Ok(name.to_owned())
}
