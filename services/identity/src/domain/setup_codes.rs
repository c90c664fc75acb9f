//! Bot setup codes (API.md §10): whoever may mint a bot's token may instead
//! mint a short one-time code; the runtime claims it and receives the token.
//! Codes are stored hashed, live ten minutes and work once.

use super::audit::Actor;
use super::bots::{self, IssuedToken, MintTarget};
use crate::error::{IdentityError, Result};
use crate::store::setup_codes::{self, SetupCodeRow};
use crate::store::users::UserRow;
use crate::store::workspaces::WorkspaceRow;
use chrono::{Duration, Utc};
use clickclack_common::ids::{self, UserId, WorkspaceKey};
use clickclack_common::token::{RawToken, normalize_setup_code};
use diesel::{Connection, PgConnection};
use serde_json::{Map, Value, json};

pub const SETUP_CODE_TTL: Duration = Duration::minutes(10);
const DEFAULT_TOKEN_NAME: &str = "setup-code";

/// What the minter asked for.
pub struct NewSetupCode {
    /// Blank in the request: the bot's home workspace.
    pub workspace: Option<WorkspaceKey>,
    pub bot_user_id: UserId,
    pub token_name: String,
    pub scopes: Vec<String>,
    /// `{defaultTo?, allowFrom?, agentActivity?}` for the runtime.
    pub defaults: Value,
    pub created_by: Option<UserId>,
}

/// A claimed code: the new token and what the runtime needs to know.
pub struct Claimed {
    pub setup_code_id: String,
    pub token: IssuedToken,
    pub bot: UserRow,
    pub workspace: WorkspaceRow,
    pub defaults: Value,
}

/// Mints a code; answers the stored row and the code (shown once).
pub fn create(conn: &mut PgConnection, new: NewSetupCode) -> Result<(SetupCodeRow, RawToken)> {
    let scopes = bots::expand_scopes(&new.scopes)?;
    let token_name = match new.token_name.trim() {
        "" => DEFAULT_TOKEN_NAME.to_owned(),
        name => bots::validate_token_name(name)?,
    };
    let defaults = checked_defaults(new.defaults)?;
    let actor = Actor::from_optional(new.created_by);
    conn.transaction(|conn| {
        let target = bots::minting_target(conn, new.workspace.as_ref(), &new.bot_user_id, &actor)?;
        let code = RawToken::generate_setup_code();
        let now = Utc::now();
        let row = setup_codes::insert(
            conn,
            &SetupCodeRow {
                id: ids::new_id(ids::SETUP_CODE),
                code_hash: code.hash().as_bytes().to_vec(),
                bot_user_id: target.bot.id.clone(),
                workspace_id: target.workspace.id.clone(),
                token_name,
                scopes,
                defaults,
                created_by: target.created_by.clone(),
                created_at: now,
                expires_at: now + SETUP_CODE_TTL,
                claimed_at: None,
                claimed_token_id: None,
            },
        )?;
        super::audit::record(
            conn,
            &row.workspace_id,
            &actor,
            "bot_setup_code.created",
            &row.id,
            json!({ "bot_user_id": row.bot_user_id, "token_name": row.token_name, "scopes": row.scopes }),
        )?;
        Ok((row, code))
    })
}

/// A bot's recent codes (never the codes themselves), for whoever may mint
/// its tokens.
pub fn list(
    conn: &mut PgConnection,
    workspace: Option<&WorkspaceKey>,
    bot_user_id: &UserId,
    actor: Option<UserId>,
) -> Result<Vec<SetupCodeRow>> {
    let actor = Actor::from_optional(actor);
    let target = bots::minting_target(conn, workspace, bot_user_id, &actor)?;
    Ok(setup_codes::recent_for_bot(conn, &target.bot.id)?)
}

/// Withdraws a code before anyone claims it.
pub fn revoke(conn: &mut PgConnection, id: &str, actor: Option<UserId>) -> Result<SetupCodeRow> {
    let actor = Actor::from_optional(actor);
    conn.transaction(|conn| {
        let code = setup_codes::find(conn, id)?
            .ok_or_else(|| IdentityError::NotFound(format!("setup code {id} not found")))?;
        bots::minting_target(
            conn,
            Some(&WorkspaceKey::from(code.workspace_id.clone())),
            &code.bot_user_id,
            &actor,
        )
        .map_err(|_| IdentityError::NotFound(format!("setup code {id} not found")))?;
        if code.claimed_at.is_some() {
            return Err(IdentityError::Conflict(
                "this setup code was already claimed".into(),
            ));
        }
        let now = Utc::now();
        let row = if code.expires_at > now {
            setup_codes::expire(conn, &code.id, now)?
        } else {
            code
        };
        super::audit::record(
            conn,
            &row.workspace_id,
            &actor,
            "bot_setup_code.revoked",
            &row.id,
            json!({ "bot_user_id": row.bot_user_id }),
        )?;
        Ok(row)
    })
}

/// Trades a code for a new token. Unknown, expired and used codes are all
/// "not found", so a caller learns nothing about which it was.
pub fn claim(conn: &mut PgConnection, typed: &str) -> Result<Claimed> {
    let not_found =
        || IdentityError::NotFound("setup code not found, expired or already used".into());
    let code = normalize_setup_code(typed).ok_or_else(not_found)?;
    conn.transaction(|conn| {
        let now = Utc::now();
        let row = setup_codes::lock_claimable(conn, code.hash().as_bytes(), now)?
            .ok_or_else(not_found)?;
        // The minter's rights are checked again: a code outlives nothing its
        // creator has lost since (a removed owner, a removed bot).
        let actor = Actor::from_optional(row.created_by.clone());
        let target: MintTarget = bots::minting_target(
            conn,
            Some(&WorkspaceKey::from(row.workspace_id.clone())),
            &row.bot_user_id,
            &actor,
        )?;
        let token = bots::mint(
            conn,
            &target,
            &row.token_name,
            row.scopes.clone(),
            &actor,
            json!({ "setup_code_id": row.id }),
        )?;
        setup_codes::mark_claimed(conn, &row.id, &token.row.id, now)?;
        Ok(Claimed {
            setup_code_id: row.id,
            token,
            bot: target.bot,
            workspace: target.workspace,
            defaults: row.defaults,
        })
    })
}

/// Keeps only the keys a runtime understands, each of its expected type.
fn checked_defaults(raw: Value) -> Result<Value> {
    let fields = match raw {
        Value::Null => return Ok(json!({})),
        Value::Object(fields) => fields,
        _ => return Err(IdentityError::Invalid("defaults must be an object".into())),
    };
    let mut out = Map::new();
    for (key, value) in fields {
        let ok = match key.as_str() {
            "defaultTo" => value.as_str().is_some_and(|v| v.len() <= 256),
            "allowFrom" => match &value {
                Value::String(v) => v.len() <= 256,
                Value::Array(items) => {
                    items.len() <= 100
                        && items
                            .iter()
                            .all(|i| i.as_str().is_some_and(|v| v.len() <= 256))
                }
                _ => false,
            },
            "agentActivity" => value.is_boolean(),
            other => {
                return Err(IdentityError::Invalid(format!(
                    "unknown setup-code default {:?} (use defaultTo, allowFrom or agentActivity)",
                    other.chars().take(64).collect::<String>()
                )));
            }
        };
        if !ok {
            return Err(IdentityError::Invalid(format!(
                "defaults.{key}: defaultTo is a string, allowFrom a string or a list of strings, agentActivity a boolean"
            )));
        }
        out.insert(key, value);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::checked_defaults;
    use serde_json::json;

    #[test]
    fn defaults_keep_known_keys_of_the_right_type() {
        let ok = json!({ "defaultTo": "#ops", "allowFrom": ["@ana"], "agentActivity": true });
        assert_eq!(checked_defaults(ok.clone()).unwrap(), ok);
        assert_eq!(checked_defaults(json!(null)).unwrap(), json!({}));
        assert!(checked_defaults(json!({ "agentActivity": "yes" })).is_err());
        assert!(checked_defaults(json!({ "other": 1 })).is_err());
        assert!(checked_defaults(json!([1])).is_err());
    }
}
