//! Bearer-token authentication (docs/architecture.md, "A request, end to end", step 2) and the notices that
//! tell gateways a cached authentication may no longer hold.

use super::resolve_workspace;
use super::rules::{Role, UserKind};
use crate::error::{IdentityError, Result};
use crate::store::members;
use crate::store::sessions;
use crate::store::tokens;
use crate::store::users::{self, UserRow};
use chrono::{DateTime, Duration, Utc};
use clickclack_common::ids::{UserId, WorkspaceId, WorkspaceKey};
use clickclack_common::scopes;
use clickclack_common::token::{BOT_TOKEN_PREFIX, RawToken, SESSION_TOKEN_PREFIX, TokenHash};
use diesel::PgConnection;

/// `last_used_at` is refreshed at most this often, so a busy token does not
/// write on every request.
const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

/// Whether `last_used_at` is old enough to be written again.
fn last_used_is_stale(last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_used_at.is_none_or(|last| now - last >= LAST_USED_RESOLUTION)
}

/// The Postgres NOTIFY channel that carries [`AuthChange`]s.
pub const CHANGES_CHANNEL: &str = "clickclack_auth_changes";

/// Who a valid credential acts as.
pub struct Authenticated {
    pub user: UserRow,
    /// A bot token's workspace, or the workspace a session asked about
    /// (none when it asked about none).
    pub workspace_id: Option<WorkspaceId>,
    /// `bot` for bots; the member role for humans (none with no workspace).
    pub role: Option<Role>,
    pub scopes: Vec<String>,
    /// The bot token's or the session's id.
    pub credential_id: String,
    pub credential: &'static str,
    /// When the credential stops working by itself.
    pub expires_at: Option<DateTime<Utc>>,
}

pub fn authenticate(
    conn: &mut PgConnection,
    presented: &RawToken,
    workspace_key: Option<&WorkspaceKey>,
) -> Result<Authenticated> {
    if presented.is_well_formed(BOT_TOKEN_PREFIX) {
        authenticate_bot(conn, presented)
    } else if presented.is_well_formed(SESSION_TOKEN_PREFIX) {
        authenticate_session(conn, presented, workspace_key)
    } else {
        Err(invalid())
    }
}

fn invalid() -> IdentityError {
    IdentityError::Unauthenticated("invalid bearer token".into())
}

fn authenticate_bot(conn: &mut PgConnection, presented: &RawToken) -> Result<Authenticated> {
    let hash = presented.hash();
    let token = tokens::find_by_hash(conn, hash.as_bytes())?
        .filter(|row| TokenHash::from_slice(&row.token_hash) == Some(hash))
        .ok_or_else(invalid)?;
    let now = Utc::now();
    // A future revoked_at is a rotation's grace period: still valid until then.
    if token.revoked_at.is_some_and(|at| at <= now) {
        return Err(IdentityError::Unauthenticated(
            "token has been revoked".into(),
        ));
    }
    let bot = users::find(conn, &token.bot_user_id)?
        .filter(|user| user.kind == UserKind::Bot)
        .ok_or_else(invalid)?;
    check_bot_in_workspace(conn, &token.workspace_id, &bot)?;
    if last_used_is_stale(token.last_used_at, now) {
        tokens::set_last_used(conn, &token.id, now)?;
    }
    Ok(Authenticated {
        user: bot,
        workspace_id: Some(token.workspace_id),
        role: Some(Role::Bot),
        scopes: token.scopes,
        credential_id: token.id,
        credential: "bot",
        expires_at: token.revoked_at,
    })
}

/// What a bot needs besides a working token to act in its workspace: the
/// workspace still exists, the bot is still a member, and so is its owner.
fn check_bot_in_workspace(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    bot: &UserRow,
) -> Result<()> {
    if crate::store::workspaces::find(conn, workspace_id)?.is_none() {
        return Err(IdentityError::Unauthenticated(
            "this bot's workspace has been deleted".into(),
        ));
    }
    if members::find(conn, workspace_id, &bot.id)?.is_none() {
        return Err(IdentityError::Forbidden(
            "this bot is no longer a member of its workspace".into(),
        ));
    }
    if let Some(owner) = &bot.owner_user_id
        && members::find(conn, workspace_id, owner)?.is_none()
    {
        return Err(IdentityError::Forbidden(
            "this bot's owner is no longer a member of its workspace".into(),
        ));
    }
    Ok(())
}

/// Whether a reader may still have its events pushed to it (webhooks). A
/// bot: it passes every check its token would, and one of its tokens still
/// works and reads realtime. A human (behind a subscription made without a
/// bot): still a member of a workspace that still exists. `Err` is the
/// refusal; the reason is meant for the subscription's delivery log.
pub fn reader_standing(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
) -> Result<std::result::Result<(), String>> {
    let Some(user) = users::find(conn, user_id)? else {
        return Ok(Err("this user no longer exists".into()));
    };
    if user.kind != UserKind::Bot {
        return human_standing(conn, workspace_id, user_id);
    }
    let bot = user;
    let bot_user_id = user_id;
    match check_bot_in_workspace(conn, workspace_id, &bot) {
        Ok(()) => {}
        Err(IdentityError::Unauthenticated(why) | IdentityError::Forbidden(why)) => {
            return Ok(Err(why));
        }
        Err(other) => return Err(other),
    }
    let now = Utc::now();
    let reads_realtime = tokens::list_for_bot(conn, bot_user_id, workspace_id)?
        .into_iter()
        .any(|token| {
            token.revoked_at.is_none_or(|at| at > now)
                && scopes::parse_stored(&token.scopes).contains(&scopes::Scope::RealtimeRead)
        });
    if reads_realtime {
        Ok(Ok(()))
    } else {
        Ok(Err(
            "this bot has no working token that reads realtime events".into(),
        ))
    }
}

/// A human reader: still a member of a workspace that still exists.
fn human_standing(
    conn: &mut PgConnection,
    workspace_id: &WorkspaceId,
    user_id: &UserId,
) -> Result<std::result::Result<(), String>> {
    if crate::store::workspaces::find(conn, workspace_id)?.is_none() {
        return Ok(Err("this workspace has been deleted".into()));
    }
    if members::find(conn, workspace_id, user_id)?.is_none() {
        return Ok(Err(
            "the member who made this subscription has left the workspace".into(),
        ));
    }
    Ok(Ok(()))
}

fn authenticate_session(
    conn: &mut PgConnection,
    presented: &RawToken,
    workspace_key: Option<&WorkspaceKey>,
) -> Result<Authenticated> {
    let hash = presented.hash();
    let session = sessions::find_session_by_hash(conn, hash.as_bytes())?
        .filter(|row| TokenHash::from_slice(&row.token_hash) == Some(hash))
        .ok_or_else(invalid)?;
    let now = Utc::now();
    if session.revoked_at.is_some() || session.expires_at <= now {
        return Err(IdentityError::Unauthenticated(
            "session has ended; sign in again".into(),
        ));
    }
    let user = users::find(conn, &session.user_id)?
        .filter(|user| user.kind == UserKind::Human)
        .ok_or_else(invalid)?;
    let (workspace_id, role) = if let Some(workspace_key) = workspace_key {
        let workspace = resolve_workspace(conn, workspace_key)?;
        let member = members::find(conn, &workspace.id, &user.id)?.ok_or_else(|| {
            IdentityError::Forbidden(format!(
                "you are not a member of workspace {}",
                workspace.slug
            ))
        })?;
        (Some(workspace.id), Some(member.role))
    } else {
        (None, None)
    };
    if last_used_is_stale(session.last_used_at, now) {
        sessions::set_session_last_used(conn, &session.id, now)?;
    }
    Ok(Authenticated {
        user,
        workspace_id,
        role,
        scopes: scopes::names(&scopes::human()),
        credential_id: session.id,
        credential: "session",
        expires_at: Some(session.expires_at),
    })
}

/// What kind of thing changed, for [`announce`].
#[derive(Debug, Clone, Copy)]
pub enum AuthChange {
    Token,
    Member,
    Session,
}

impl AuthChange {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthChange::Token => "token",
            AuthChange::Member => "member",
            AuthChange::Session => "session",
        }
    }
}

/// Tells every identity replica (and through them every gateway) that a
/// cached authentication may be stale, under the next change number.
/// Postgres delivers a NOTIFY only when the surrounding transaction commits,
/// so a rolled-back change announces nothing and a committed one is never
/// announced before it is visible.
pub fn announce(conn: &mut PgConnection, change: AuthChange, subject_id: &str) -> Result<()> {
    crate::store::changes::announce(
        conn,
        CHANGES_CHANNEL,
        &format!("{}:{subject_id}", change.as_str()),
    )?;
    Ok(())
}
