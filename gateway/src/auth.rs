//! Bearer authentication for every `/api` route.
//!
//! Two credentials exist: bot tokens (`ccb_`), bound to one workspace, and
//! human sessions (`sst_`), which span every workspace their human belongs
//! to. The gateway asks identity to resolve the token (identity checks
//! revocation, membership and a user-owned bot's owner's membership), then
//! checks the route's scope and target workspace itself.
//!
//! Successful answers are cached per token (and, for sessions, per target
//! workspace) in [`crate::auth_cache`], which identity's change stream keeps
//! honest: an answered revocation is refused by the next request on every
//! gateway. Raw tokens are never stored, logged or echoed.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use clickclack_common::assertion::Claims;
use clickclack_common::scopes::{self, Scope};
use clickclack_common::token::{BOT_TOKEN_PREFIX, RawToken, SESSION_TOKEN_PREFIX};
use clickclack_common::{ids, wire};
use clickclack_proto::identity as pb;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tonic::Code;

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
    bearer: Arc<RawToken>,
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

    fn from_pb(principal: pb::Principal, bearer: Arc<RawToken>) -> Result<Principal, ApiError> {
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

/// The bearer token from `Authorization`.
pub fn bearer_from_headers(headers: &HeaderMap) -> Result<RawToken, ApiError> {
    let header = headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid authorization header"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("authorization must be \"Bearer <token>\""))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::unauthorized(
            "authorization must be \"Bearer <token>\"",
        ));
    }
    Ok(RawToken::from_presented(token.trim()))
}

/// The longest a request waits for identity to resolve its token.
const AUTHENTICATE_TIMEOUT: Duration = Duration::from_millis(1000);

/// Why a credential was not accepted.
#[derive(Debug)]
pub enum Refused {
    /// The credential itself no longer works: unknown, revoked, expired or
    /// signed out.
    Credential(String),
    /// The credential is fine, but its bot, the bot's owner or the human is
    /// not a member of the workspace (any more).
    Access(String),
    /// Identity could not answer: nothing is known either way.
    Unavailable(ApiError),
}

impl Refused {
    /// The HTTP answer. A bot token whose bot or owner left the workspace no
    /// longer authenticates at all: 401, as clients expect (API.md §1). A
    /// session that names a workspace its human is not in is 403.
    pub fn into_api_error(self, credential: Credential) -> ApiError {
        match self {
            Refused::Credential(message) => ApiError::unauthorized(message),
            Refused::Access(message) if credential == Credential::Session => {
                ApiError::forbidden(message)
            }
            Refused::Access(message) => ApiError::unauthorized(message),
            Refused::Unavailable(error) => error,
        }
    }
}

/// Resolves a presented token to its principal, through the cache. For a
/// session, `workspace` (id or slug, may be empty) is the workspace the
/// request targets; bot tokens ignore it.
pub async fn authenticate(
    state: &AppState,
    token: Arc<RawToken>,
    workspace: &str,
) -> Result<Arc<Principal>, ApiError> {
    let credential = if token.is_well_formed(SESSION_TOKEN_PREFIX) {
        Credential::Session
    } else {
        Credential::Bot
    };
    resolve(state, token, workspace)
        .await
        .map_err(|refused| refused.into_api_error(credential))
}

async fn resolve(
    state: &AppState,
    token: Arc<RawToken>,
    workspace: &str,
) -> Result<Arc<Principal>, Refused> {
    let is_session = token.is_well_formed(SESSION_TOKEN_PREFIX);
    if !is_session && !token.is_well_formed(BOT_TOKEN_PREFIX) {
        return Err(Refused::Credential("invalid bearer token".into()));
    }
    let workspace = if is_session { workspace } else { "" };
    let key = (token.hash(), workspace.to_owned());
    if let Some(principal) = state.auth_cache.get(&key) {
        state.metrics.auth_cache_hits.inc();
        return Ok(principal);
    }
    state.metrics.auth_cache_misses.inc();
    let generation = state.auth_cache.generation();
    let mut request = tonic::Request::new(pb::AuthenticateRequest {
        token: token.expose().to_owned(),
        workspace: workspace.to_owned(),
    });
    // Normally a few milliseconds: a caller waits at most this long while
    // identity is unreachable, then gets 503 and retries.
    request.set_timeout(AUTHENTICATE_TIMEOUT);
    let answer = state.identity.clone().authenticate(request).await;
    let principal = match answer {
        Ok(response) => Arc::new(
            Principal::from_pb(response.into_inner(), token)
                .map_err(|error| Refused::Credential(error.message))?,
        ),
        Err(status) => {
            return Err(match status.code() {
                Code::Unauthenticated => Refused::Credential(status.message().into()),
                Code::PermissionDenied => Refused::Access(status.message().into()),
                Code::DeadlineExceeded | Code::Cancelled | Code::Unavailable => {
                    tracing::warn!(error = %status.message(), "identity unreachable");
                    Refused::Unavailable(ApiError::new(
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "identity is unavailable; retry shortly",
                    ))
                }
                _ => Refused::Unavailable(status.into()),
            });
        }
    };
    state.auth_cache.put(key, principal.clone(), generation);
    tracing::Span::current().record("user_id", principal.user.id.as_str());
    Ok(principal)
}

/// Re-checks a principal's credential (ignoring the cache's copy only in
/// that the cache is emptied by every change notice).
pub async fn recheck(state: &AppState, principal: &Principal) -> Result<Arc<Principal>, Refused> {
    resolve(state, principal.bearer.clone(), &principal.workspace_id).await
}

/// Scopes a session to the workspace a request names (id or slug); a bot
/// token must already be bound to it. Returns the principal to forward.
pub async fn for_workspace(
    state: &AppState,
    principal: Arc<Principal>,
    key: &str,
) -> Result<Arc<Principal>, ApiError> {
    if principal.is_session() {
        if key == principal.workspace_id {
            return Ok(principal);
        }
        return authenticate(state, principal.bearer.clone(), key).await;
    }
    Ok(principal)
}

/// The workspace a session's request targets, read from the route: the
/// workspace in `/api/workspaces/{id}/...`, the workspace of the channel,
/// message, DM or upload in the path, or `?workspace_id=`. Also says whether
/// it was found through a resource id in the path.
async fn target_workspace(state: &AppState, parts: &Parts) -> Result<(String, bool), ApiError> {
    let mut segments = parts.uri.path().trim_start_matches('/').split('/');
    let (api, area, id) = (segments.next(), segments.next(), segments.next());
    if api == Some("api")
        && let Some(id) = id
    {
        match area {
            Some("workspaces") => return Ok((id.to_owned(), false)),
            Some("channels" | "messages" | "dms" | "uploads")
                if [ids::CHANNEL, ids::MESSAGE, ids::DM, ids::UPLOAD]
                    .iter()
                    .any(|prefix| ids::has_prefix(id, prefix)) =>
            {
                return Ok((state.locate(id).await?, true));
            }
            _ => {}
        }
    }
    Ok(parts
        .uri
        .query()
        .and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "workspace_id")
                .map(|(_, value)| value.into_owned())
        })
        .map(|workspace| (workspace, false))
        .unwrap_or_default())
}

impl FromRequestParts<AppState> for Arc<Principal> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = Arc::new(crate::cookies::credential(&parts.method, &parts.headers)?);
        if !token.is_well_formed(SESSION_TOKEN_PREFIX) {
            return authenticate(state, token, "").await;
        }
        // The session itself first: nothing is looked up for a caller who
        // is not signed in, so 401 never depends on whether an id exists.
        let signed_in = authenticate(state, token.clone(), "").await?;
        let (workspace, located) = target_workspace(state, parts).await?;
        if workspace.is_empty() {
            return Ok(signed_in);
        }
        match authenticate(state, token, &workspace).await {
            // A resource in a workspace the human is not in stays invisible.
            Err(error) if located && error.status == axum::http::StatusCode::FORBIDDEN => {
                Err(ApiError::not_found("not found"))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot_principal(owner: Option<&str>) -> Principal {
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
            expires_at: None,
            bearer: Arc::new(RawToken::from_presented("ccb_x")),
        }
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
