//! Who a request acts as: the principal identity resolved from a bearer
//! token or session, with its scopes. Plain data: resolving one is
//! [`crate::auth`]'s job, deciding what it may do is [`crate::policy`]'s.

use crate::error::ApiError;
use chrono::{DateTime, Utc};
use clickclack_common::assertion::Claims;
use clickclack_common::scopes::{self, Scope};
use clickclack_common::token::RawToken;
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// The kind of credential a request presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Bot,
    Session,
}

/// Who a request acts as.
pub struct Principal {
    pub user: wire::User,
    /// A bot token's workspace; for a session, the workspace this request
    /// targets (empty when the route names none).
    pub workspace_id: String,
    /// "bot", or the human's role in `workspace_id`.
    pub role: String,
    pub scopes: BTreeSet<Scope>,
    /// The bot token's or the session's id.
    pub token_id: String,
    pub credential: Credential,
    /// When the credential stops working by itself.
    pub expires_at: Option<DateTime<Utc>>,
    /// Kept so a session can be re-scoped to a workspace named in a body,
    /// and so sockets can re-check it. `RawToken` has no Debug or Display.
    pub(crate) bearer: Arc<RawToken>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("user", &self.user.id)
            .field("workspace_id", &self.workspace_id)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl Principal {
    /// The signed-assertion claims services receive for this principal.
    pub fn claims(&self) -> Claims {
        Claims::new(
            &self.user.id,
            &self.user.kind,
            &self.workspace_id,
            &self.role,
            &self.scopes,
        )
    }

    pub fn is_session(&self) -> bool {
        self.credential == Credential::Session
    }

    /// Whether a change notice may affect this principal: its credential,
    /// its user (membership, role), or a user-owned bot's owner. "hello" and
    /// "resync" concern everyone.
    pub fn concerned_by(&self, change: &pb::AuthChange) -> bool {
        match change.kind.as_str() {
            "token" | "session" => change.subject_id == self.token_id,
            "member" => {
                change.subject_id == self.user.id
                    || self.user.owner_user_id.as_deref() == Some(change.subject_id.as_str())
            }
            _ => true,
        }
    }

    /// How long the credential works on by itself (`None`: no end of its
    /// own; zero once past).
    pub fn time_left(&self) -> Option<Duration> {
        self.expires_at
            .map(|at| (at - Utc::now()).to_std().unwrap_or_default())
    }

    pub fn bearer(&self) -> &Arc<RawToken> {
        &self.bearer
    }

    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this token lacks the {scope} scope"
            )))
        }
    }

    /// Bot management and sign-out are for people (API.md §10).
    pub fn require_session(&self) -> Result<(), ApiError> {
        if self.is_session() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "bot tokens cannot do this; sign in as a human",
            ))
        }
    }

    /// A token only ever reaches its own workspace; a session only
    /// workspaces its human belongs to (checked when it was scoped).
    pub fn require_workspace(&self, workspace_id: &str) -> Result<(), ApiError> {
        if self.workspace_id == workspace_id {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "this token is not valid for that workspace",
            ))
        }
    }

    pub(crate) fn from_pb(
        principal: pb::Principal,
        bearer: Arc<RawToken>,
    ) -> Result<Principal, ApiError> {
        let user = principal
            .user
            .ok_or_else(|| ApiError::unauthorized("invalid bearer token"))?;
        Ok(Principal {
            user: user.into(),
            workspace_id: principal.workspace_id,
            role: principal.role,
            scopes: scopes::parse_stored(&principal.scopes),
            token_id: principal.token_id,
            credential: if principal.credential == "session" {
                Credential::Session
            } else {
                Credential::Bot
            },
            expires_at: principal
                .expires_at
                .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
                .map(|at| at.with_timezone(&Utc)),
            bearer,
        })
    }
}

#[cfg(test)]
impl Principal {
    /// A service or user-owned bot's principal whose credential ends at
    /// `expires_at`, for unit tests.
    pub(crate) fn test_bot(owner: Option<&str>, expires_at: Option<DateTime<Utc>>) -> Principal {
        Principal {
            user: wire::User {
                id: "usr_bot".into(),
                kind: "bot".into(),
                display_name: "Bot".into(),
                handle: "bot".into(),
                avatar_url: String::new(),
                created_at: String::new(),
                owner_user_id: owner.map(str::to_owned),
            },
            workspace_id: "wsp_1".into(),
            role: "bot".into(),
            scopes: BTreeSet::new(),
            token_id: "btok_1".into(),
            credential: Credential::Bot,
            expires_at,
            bearer: Arc::new(RawToken::from_presented("ccb_x")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot_principal(owner: Option<&str>) -> Principal {
        Principal::test_bot(owner, None)
    }

    fn change(kind: &str, subject: &str) -> pb::AuthChange {
        pb::AuthChange {
            kind: kind.into(),
            subject_id: subject.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_socket_rechecks_only_for_changes_that_concern_it() {
        let owned = bot_principal(Some("usr_owner"));
        assert!(owned.concerned_by(&change("token", "btok_1")));
        assert!(!owned.concerned_by(&change("token", "btok_2")));
        assert!(owned.concerned_by(&change("member", "usr_bot")));
        assert!(owned.concerned_by(&change("member", "usr_owner")));
        assert!(!owned.concerned_by(&change("member", "usr_someone")));
        assert!(!bot_principal(None).concerned_by(&change("member", "usr_owner")));
        assert!(owned.concerned_by(&change("resync", "")));
        assert!(owned.concerned_by(&change("hello", "")));
    }
}
