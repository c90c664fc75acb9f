//! App installations: an app (named by its slug) bound to one of a
//! workspace's bots, with the app's configuration. Upstream's rules: any
//! member may list them; only owners and moderators install or revoke; one
//! live installation of an app per workspace; revoking keeps the bot's
//! tokens unless asked, because the bot may serve other integrations.

use super::audit::{self, Actor};
use super::auth::{self, AuthChange};
use super::{conflict_on_duplicate, require_manager, require_member, require_workspace};
use crate::error::{IdentityError, Result};
use crate::store::app_installations::{self, AppInstallationRow};
use crate::store::members;
use crate::store::tokens;
use crate::store::users::{self, UserRow};
use chrono::{DateTime, Utc};
use clickclack_common::ids::{self, UserId, WorkspaceId};
use clickclack_common::roles::UserKind;
use diesel::{Connection, PgConnection};
use serde_json::{Map, Value, json};

/// Upstream's limit on an installation's display name.
const MAX_DISPLAY_NAME: usize = 80;
const MAX_SLUG: usize = 64;
/// An app's configuration is a small settings object, not a data store.
const MAX_CONFIG_BYTES: usize = 16 * 1024;

pub struct NewInstallation {
    pub workspace_id: WorkspaceId,
    pub app_slug: String,
    pub display_name: String,
    pub bot_user_id: UserId,
    /// The raw JSON text; empty means `{}`.
    pub config_json: String,
    pub actor: Actor,
}

/// What a revoke may take along with the installation.
#[derive(Debug, Clone, Copy, Default)]
pub struct RevokeOptions {
    pub revoke_bot_tokens: bool,
    pub delete_bot: bool,
}

pub struct Revoked {
    pub installation: AppInstallationRow,
    pub revoked_bot_tokens: usize,
    pub deleted_bot: Option<UserRow>,
    pub revoked_at: DateTime<Utc>,
}

/// Lower case; every run of other characters becomes one `-` (so
/// "My App" is `my-app`), as upstream normalises slugs.
pub fn normalize_slug(raw: &str) -> Result<String> {
    let mut slug = String::new();
    for c in raw.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        return Err(IdentityError::Invalid("app_slug is required".into()));
    }
    if slug.len() > MAX_SLUG {
        return Err(IdentityError::Invalid(format!(
            "app_slug must be at most {MAX_SLUG} characters"
        )));
    }
    Ok(slug)
}

fn display_name(raw: &str, slug: &str) -> Result<String> {
    let name = raw.trim();
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(IdentityError::Invalid(format!(
            "display_name must be at most {MAX_DISPLAY_NAME} characters"
        )));
    }
    Ok(if name.is_empty() { slug } else { name }.to_owned())
}

/// The configuration must be a JSON object (upstream stores a map).
pub fn parse_config(raw: &str) -> Result<Value> {
    if raw.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    if raw.len() > MAX_CONFIG_BYTES {
        return Err(IdentityError::Invalid(format!(
            "config must be at most {MAX_CONFIG_BYTES} bytes of JSON"
        )));
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Null) => Ok(Value::Object(Map::new())),
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(IdentityError::Invalid(
            "config must be a JSON object".into(),
        )),
    }
}

pub fn list(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    actor: &Actor,
) -> Result<Vec<AppInstallationRow>> {
    let workspace = require_workspace(conn, workspace_id)?;
    if let Actor::User(id) = actor {
        require_member(conn, &workspace, id)?;
    }
    Ok(app_installations::list_live(conn, &workspace.id)?)
}

pub fn install(conn: &mut PgConnection, new: NewInstallation) -> Result<AppInstallationRow> {
    let slug = normalize_slug(&new.app_slug)?;
    let display_name = display_name(&new.display_name, &slug)?;
    let config = parse_config(&new.config_json)?;
    conn.transaction(|conn| {
        let workspace = require_workspace(conn, &new.workspace_id)?;
        require_manager(conn, &workspace, &new.actor, "install apps")?;
        let is_bot_member = users::find(conn, &new.bot_user_id)?
            .is_some_and(|user| user.kind == UserKind::Bot)
            && members::find(conn, &workspace.id, &new.bot_user_id)?.is_some();
        if !is_bot_member {
            return Err(IdentityError::Invalid(format!(
                "bot_user_id must refer to a bot in the workspace; {} is not one",
                new.bot_user_id
            )));
        }
        let row = app_installations::insert(
            conn,
            &AppInstallationRow {
                id: ids::new_id(ids::APP_INSTALLATION),
                workspace_id: workspace.id.clone(),
                app_slug: slug.clone(),
                display_name,
                bot_user_id: new.bot_user_id.clone(),
                config,
                created_by: new.actor.user_id().cloned(),
                created_at: Utc::now(),
                revoked_at: None,
            },
        )
        .map_err(|e| {
            conflict_on_duplicate(e, || {
                format!("app {slug} is already installed in this workspace")
            })
        })?;
        audit::record(
            conn,
            &workspace.id,
            &new.actor,
            "app_installation.created",
            &row.id,
            json!({"app_slug": row.app_slug, "bot_user_id": row.bot_user_id}),
        )?;
        Ok(row)
    })
}

/// Revokes the installation and, as asked, the bot's tokens or the bot's
/// place in the workspace, in one transaction. Revoking twice answers the
/// installation with nothing more revoked.
pub fn revoke(
    conn: &mut PgConnection,
    installation_id: &str,
    options: RevokeOptions,
    actor: &Actor,
) -> Result<Revoked> {
    conn.transaction(|conn| {
        let not_found =
            || IdentityError::NotFound(format!("app installation {installation_id} not found"));
        let found =
            app_installations::find_for_update(conn, installation_id)?.ok_or_else(not_found)?;
        let workspace = require_workspace(conn, &found.workspace_id)?;
        if let Actor::User(id) = actor {
            // Another workspace's installation is "not found", not "forbidden".
            if members::find(conn, &workspace.id, id)?.is_none() {
                return Err(not_found());
            }
        }
        require_manager(conn, &workspace, actor, "revoke app installations")?;
        if let Some(revoked_at) = found.revoked_at {
            return Ok(Revoked {
                installation: found,
                revoked_bot_tokens: 0,
                deleted_bot: None,
                revoked_at,
            });
        }
        let now = Utc::now();
        let installation = app_installations::mark_revoked(conn, &found.id, now)?;
        let bot = users::find(conn, &installation.bot_user_id)?;
        let mut revoked_bot_tokens = 0;
        let mut deleted_bot = None;
        match (
            bot,
            members::find_for_update(conn, &workspace.id, &installation.bot_user_id)?,
        ) {
            (Some(bot), Some(member)) if options.delete_bot => {
                revoked_bot_tokens =
                    super::members::remove(conn, &workspace, &bot, &member, actor)?;
                deleted_bot = Some(bot);
            }
            _ if options.revoke_bot_tokens => {
                revoked_bot_tokens = revoke_tokens(conn, &installation, now)?;
            }
            _ => {}
        }
        audit::record(
            conn,
            &workspace.id,
            actor,
            "app_installation.revoked",
            &installation.id,
            json!({
                "app_slug": installation.app_slug,
                "bot_user_id": installation.bot_user_id,
                "revoked_bot_tokens": revoked_bot_tokens,
                "deleted_bot": deleted_bot.is_some(),
            }),
        )?;
        Ok(Revoked {
            installation,
            revoked_bot_tokens,
            deleted_bot,
            revoked_at: now,
        })
    })
}

/// Every token of the installation's bot that still works in its
/// workspace, each announced so gateways drop it from their caches.
fn revoke_tokens(
    conn: &mut PgConnection,
    installation: &AppInstallationRow,
    at: DateTime<Utc>,
) -> Result<usize> {
    let live: Vec<_> =
        tokens::list_for_bot(conn, &installation.bot_user_id, &installation.workspace_id)?
            .into_iter()
            .filter(|token| token.revoked_at.is_none_or(|end| end > at))
            .collect();
    for token in &live {
        tokens::revoke(conn, &token.id, at)?;
        auth::announce(conn, AuthChange::Token, &token.id)?;
    }
    Ok(live.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words_joined_by_dashes() {
        assert_eq!(normalize_slug("  My App ").unwrap(), "my-app");
        assert_eq!(normalize_slug("deploy_bot--v2").unwrap(), "deploy-bot-v2");
        assert!(normalize_slug(" -- ").is_err());
        assert!(normalize_slug(&"a".repeat(65)).is_err());
    }

    #[test]
    fn config_is_an_object_or_nothing() {
        assert_eq!(parse_config("").unwrap(), json!({}));
        assert_eq!(parse_config("null").unwrap(), json!({}));
        assert_eq!(
            parse_config(r#"{"channel":"ops"}"#).unwrap(),
            json!({"channel":"ops"})
        );
        assert!(parse_config("[1]").is_err());
        assert!(parse_config("{").is_err());
    }
}
