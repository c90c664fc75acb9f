//! Bearer-token authentication (DESIGN.md §2 step 2).

use super::rules::BOT;
use crate::error::{IdentityError, Result};
use crate::store::members;
use crate::store::tokens::{self, BotTokenRow};
use crate::store::users::{self, UserRow};
use chrono::{Duration, Utc};
use clickclack_common::token::{BOT_TOKEN_PREFIX, RawToken, TokenHash};
use diesel::PgConnection;

/// `last_used_at` is refreshed at most this often, so a busy token does not
/// write on every request.
const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

/// The bot a valid token acts as, and the token itself.
pub struct Authenticated {
    pub bot: UserRow,
    pub token: BotTokenRow,
}

pub fn authenticate(conn: &mut PgConnection, presented: &RawToken) -> Result<Authenticated> {
    let invalid = || IdentityError::Unauthenticated("invalid bearer token".into());
    if !presented.is_well_formed(BOT_TOKEN_PREFIX) {
        return Err(invalid());
    }
    let hash = presented.hash();
    let token = tokens::find_by_hash(conn, hash.as_bytes())?
        .filter(|row| TokenHash::from_slice(&row.token_hash) == Some(hash))
        .ok_or_else(invalid)?;
    if token.revoked_at.is_some() {
        return Err(IdentityError::Unauthenticated(
            "token has been revoked".into(),
        ));
    }
    let bot = users::find(conn, &token.bot_user_id)?
        .filter(|user| user.kind == BOT)
        .ok_or_else(invalid)?;
    if members::find(conn, &token.workspace_id, &bot.id)?.is_none() {
        return Err(IdentityError::Forbidden(
            "this bot is no longer a member of its workspace".into(),
        ));
    }
    if let Some(owner) = &bot.owner_user_id
        && members::find(conn, &token.workspace_id, owner)?.is_none()
    {
        return Err(IdentityError::Forbidden(
            "this bot's owner is no longer a member of its workspace".into(),
        ));
    }

    let now = Utc::now();
    if token
        .last_used_at
        .is_none_or(|last| now - last >= LAST_USED_RESOLUTION)
    {
        tokens::set_last_used(conn, &token.id, now)?;
    }
    Ok(Authenticated { bot, token })
}
