//! Human sign-in: an operator (or, later, a mailer) issues a one-time magic
//! link; consuming it opens a session whose `sst_` token authenticates as
//! the human. Only SHA-256 hashes of the secrets are stored.

use super::auth::{self, AuthChange};
use super::rules;
use super::users::create_human;
use crate::error::{IdentityError, Result};
use crate::store::sessions::{self, MagicLinkRow, SessionRow};
use crate::store::users::{self, UserRow};
use chrono::{DateTime, Duration, Utc};
use clickclack_common::ids;
use clickclack_common::token::{MAGIC_LINK_PREFIX, RawToken, SESSION_TOKEN_PREFIX};
use diesel::{Connection, PgConnection};

/// A link is good for 15 minutes unless the operator asks otherwise.
pub const DEFAULT_LINK_TTL: Duration = Duration::minutes(15);
/// The longest link an operator may issue.
pub const MAX_LINK_TTL: Duration = Duration::days(7);
/// How long a session lasts before its human signs in again.
pub const SESSION_TTL: Duration = Duration::days(30);

pub struct IssuedLink {
    pub user: UserRow,
    pub raw: RawToken,
    pub expires_at: DateTime<Utc>,
    pub user_created: bool,
}

/// Issues a link for the human with `email`, creating them (with
/// `display_name`) when no user has that email yet.
pub fn create_magic_link(
    conn: &mut PgConnection,
    email: &str,
    display_name: &str,
    ttl_seconds: u32,
) -> Result<IssuedLink> {
    let email = rules::normalize_email(email)?;
    let ttl = match ttl_seconds {
        0 => DEFAULT_LINK_TTL,
        n => Duration::seconds(i64::from(n)),
    };
    if ttl > MAX_LINK_TTL {
        return Err(IdentityError::Invalid(
            "a magic link may last at most 7 days".into(),
        ));
    }
    conn.transaction(|conn| {
        let (user, user_created) = match users::find_by_email(conn, &email)? {
            Some(user) => (user, false),
            None => {
                let name = if display_name.trim().is_empty() {
                    email.split('@').next().unwrap_or_default().to_owned()
                } else {
                    display_name.to_owned()
                };
                (create_human(conn, &name, &email, "")?, true)
            }
        };
        let raw = RawToken::generate(MAGIC_LINK_PREFIX);
        let now = Utc::now();
        let expires_at = now + ttl;
        sessions::insert_magic_link(
            conn,
            &MagicLinkRow {
                id: ids::new_id(ids::MAGIC_LINK),
                user_id: user.id.clone(),
                token_hash: raw.hash().as_bytes().to_vec(),
                created_at: now,
                expires_at,
                consumed_at: None,
            },
        )?;
        Ok(IssuedLink {
            user,
            raw,
            expires_at,
            user_created,
        })
    })
}

pub struct OpenedSession {
    pub user: UserRow,
    pub raw: RawToken,
    pub expires_at: DateTime<Utc>,
}

/// Exchanges a link for a session. A link works once, before it expires.
pub fn consume_magic_link(conn: &mut PgConnection, presented: &RawToken) -> Result<OpenedSession> {
    let invalid = || IdentityError::Unauthenticated("invalid or expired magic link".into());
    if !presented.is_well_formed(MAGIC_LINK_PREFIX) {
        return Err(invalid());
    }
    conn.transaction(|conn| {
        let now = Utc::now();
        let link = sessions::consume_magic_link(conn, presented.hash().as_bytes(), now)?
            .ok_or_else(invalid)?;
        let user = users::find(conn, &link.user_id)?.ok_or_else(invalid)?;
        let raw = RawToken::generate(SESSION_TOKEN_PREFIX);
        let expires_at = now + SESSION_TTL;
        sessions::insert_session(
            conn,
            &SessionRow {
                id: ids::new_id(ids::SESSION),
                user_id: user.id.clone(),
                token_hash: raw.hash().as_bytes().to_vec(),
                created_at: now,
                expires_at,
                last_used_at: None,
                revoked_at: None,
            },
        )?;
        Ok(OpenedSession {
            user,
            raw,
            expires_at,
        })
    })
}

/// Ends the session behind a presented token (logout). Unknown or already
/// ended sessions answer `false`; logging out twice is harmless.
pub fn revoke_session(conn: &mut PgConnection, presented: &RawToken) -> Result<bool> {
    if !presented.is_well_formed(SESSION_TOKEN_PREFIX) {
        return Ok(false);
    }
    conn.transaction(|conn| {
        let Some(session) = sessions::find_session_by_hash(conn, presented.hash().as_bytes())?
        else {
            return Ok(false);
        };
        let revoked = sessions::revoke_session(conn, &session.id, Utc::now())?;
        if revoked {
            auth::announce(conn, AuthChange::Session, &session.id)?;
        }
        Ok(revoked)
    })
}
