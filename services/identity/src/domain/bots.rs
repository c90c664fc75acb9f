//! Bot installs: the bot user, its membership and its scoped tokens.

use super::rules::{self, BOT, HUMAN, Role};
use super::{conflict_on_duplicate, ensure_handle_free, handle_taken, resolve_workspace};
use crate::error::{IdentityError, Result};
use crate::store::bots::{self, BotRow};
use crate::store::members::{self, MemberRow};
use crate::store::tokens::{self, BotTokenRow};
use crate::store::users::{self, UserRow};
use crate::store::workspaces::WorkspaceRow;
use chrono::Utc;
use clickclack_common::token::{BOT_TOKEN_PREFIX, RawToken};
use clickclack_common::{ids, scopes};
use diesel::{Connection, PgConnection};

/// What an operator asked for when creating a bot.
pub struct NewBot {
    pub workspace: String,
    pub display_name: String,
    pub handle: String,
    pub avatar_url: String,
    pub owner_user_id: Option<String>,
    pub created_by: Option<String>,
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
    let owner_user_id = non_empty(new.owner_user_id);
    let created_by = non_empty(new.created_by);

    conn.transaction(|conn| {
        let workspace = resolve_workspace(conn, &new.workspace)?;
        let created_by = authorize_actor(conn, &workspace, owner_user_id.as_deref(), created_by)?;
        ensure_handle_free(conn, &workspace, &handle, None)?;

        let now = Utc::now();
        let bot = users::insert(
            conn,
            &UserRow {
                id: ids::new_id(ids::USER),
                kind: BOT.into(),
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
                role: Role::Bot.as_str().into(),
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
        )?;
        Ok((bot, token))
    })
}

/// Mints another token for a bot that is a member of the workspace.
pub fn create_token(
    conn: &mut PgConnection,
    workspace_key: &str,
    bot_user_id: &str,
    name: &str,
    requested_scopes: &[String],
    created_by: Option<String>,
) -> Result<(UserRow, IssuedToken)> {
    let scope_names = expand_scopes(requested_scopes)?;
    let token_name = validate_token_name(name)?;
    let created_by = non_empty(created_by);
    conn.transaction(|conn| {
        let bot = require_bot(conn, bot_user_id)?;
        let workspace = bot_workspace(conn, workspace_key, &bot)?;
        if members::find(conn, &workspace.id, &bot.id)?.is_none() {
            return Err(IdentityError::Forbidden(format!(
                "bot {} is not a member of workspace {}",
                bot.id, workspace.slug
            )));
        }
        let created_by =
            authorize_actor(conn, &workspace, bot.owner_user_id.as_deref(), created_by)?;
        let token = issue_token(
            conn,
            &bot.id,
            &workspace.id,
            &token_name,
            scope_names,
            created_by,
        )?;
        Ok((bot, token))
    })
}

/// The workspace's bots, each with its tokens there (newest first).
pub fn list_bots(
    conn: &mut PgConnection,
    workspace_key: &str,
) -> Result<Vec<(UserRow, Vec<BotTokenRow>)>> {
    let workspace = resolve_workspace(conn, workspace_key)?;
    bots::list_in_workspace(conn, &workspace.id)?
        .into_iter()
        .map(|bot| {
            let tokens = tokens::list_for_bot(conn, &bot.id, &workspace.id)?;
            Ok((bot, tokens))
        })
        .collect()
}

pub fn list_tokens(
    conn: &mut PgConnection,
    workspace_key: &str,
    bot_user_id: &str,
) -> Result<(UserRow, Vec<BotTokenRow>)> {
    let bot = require_bot(conn, bot_user_id)?;
    let workspace = bot_workspace(conn, workspace_key, &bot)?;
    let tokens = tokens::list_for_bot(conn, &bot.id, &workspace.id)?;
    Ok((bot, tokens))
}

/// Revokes a token. Revoking twice is harmless and keeps the first time.
pub fn revoke_token(conn: &mut PgConnection, token_id: &str) -> Result<(UserRow, BotTokenRow)> {
    conn.transaction(|conn| {
        let token = tokens::revoke(conn, token_id.trim(), Utc::now())?.ok_or_else(|| {
            IdentityError::NotFound(format!("bot token {} not found", token_id.trim()))
        })?;
        let bot = require_bot(conn, &token.bot_user_id)?;
        Ok((bot, token))
    })
}

fn issue_token(
    conn: &mut PgConnection,
    bot_user_id: &str,
    workspace_id: &str,
    name: &str,
    scopes: Vec<String>,
    created_by: Option<String>,
) -> Result<IssuedToken> {
    let raw = RawToken::generate(BOT_TOKEN_PREFIX);
    let row = tokens::insert(
        conn,
        &BotTokenRow {
            id: ids::new_id(ids::BOT_TOKEN),
            bot_user_id: bot_user_id.into(),
            workspace_id: workspace_id.into(),
            name: name.into(),
            token_hash: raw.hash().as_bytes().to_vec(),
            scopes,
            created_by,
            created_at: Utc::now(),
            last_used_at: None,
            revoked_at: None,
        },
    )?;
    Ok(IssuedToken { row, raw })
}

/// The named workspace, or the bot's own when none is named.
fn bot_workspace(
    conn: &mut PgConnection,
    workspace_key: &str,
    bot: &UserRow,
) -> Result<WorkspaceRow> {
    if !workspace_key.trim().is_empty() {
        return resolve_workspace(conn, workspace_key);
    }
    let home = bots::find(conn, &bot.id)?
        .ok_or_else(|| IdentityError::NotFound(format!("bot {} not found", bot.id)))?;
    resolve_workspace(conn, &home.workspace_id)
}

fn require_bot(conn: &mut PgConnection, id: &str) -> Result<UserRow> {
    users::find(conn, id.trim())?
        .filter(|user| user.kind == BOT)
        .ok_or_else(|| IdentityError::NotFound(format!("bot {} not found", id.trim())))
}

/// Checks who may create a bot (or mint its tokens) and returns who is
/// recorded as `created_by`.
fn authorize_actor(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    owner_user_id: Option<&str>,
    created_by: Option<String>,
) -> Result<Option<String>> {
    match owner_user_id {
        Some(owner) => authorize_user_owned(conn, workspace, owner, created_by),
        None => authorize_service_bot(conn, workspace, created_by),
    }
}

/// A user-owned bot: the owner must be a human member, and only the owner
/// may act for it. Returns who is recorded as `created_by`.
fn authorize_user_owned(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    owner_id: &str,
    created_by: Option<String>,
) -> Result<Option<String>> {
    let owner = users::find(conn, owner_id)?
        .ok_or_else(|| IdentityError::NotFound(format!("owner {owner_id} not found")))?;
    if owner.kind != HUMAN {
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
    match created_by {
        Some(actor) if actor != owner.id => Err(IdentityError::Forbidden(format!(
            "only the owner ({owner_id}) can create or mint tokens for a user-owned bot, not {actor}"
        ))),
        _ => Ok(Some(owner.id)),
    }
}

/// A service bot: an acting user, when named, must be an owner or moderator.
fn authorize_service_bot(
    conn: &mut PgConnection,
    workspace: &WorkspaceRow,
    created_by: Option<String>,
) -> Result<Option<String>> {
    let Some(actor) = created_by else {
        // An operator at the CLI acts for the deployment itself.
        return Ok(None);
    };
    let member = members::find(conn, &workspace.id, &actor)?.ok_or_else(|| {
        IdentityError::Forbidden(format!(
            "{actor} is not a member of workspace {}",
            workspace.slug
        ))
    })?;
    if !Role::from_stored(&member.role).manages_workspace() {
        return Err(IdentityError::Forbidden(format!(
            "only workspace owners and moderators can manage service bots; {actor} is a {}",
            member.role
        )));
    }
    Ok(Some(actor))
}

fn expand_scopes(requested: &[String]) -> Result<Vec<String>> {
    scopes::expand(requested)
        .map(|set| scopes::names(&set))
        .map_err(|e| IdentityError::Invalid(e.to_string()))
}

/// Token names label a runtime (`openclaw-prod`); default `default`.
fn validate_token_name(raw: &str) -> Result<String> {
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

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}
