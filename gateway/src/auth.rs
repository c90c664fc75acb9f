//! Bearer authentication for every `/api` route.
//!
//! Two credentials exist: bot tokens (`ccb_`), bound to one workspace, and
//! human sessions (`sst_`), which span every workspace their human belongs
//! to. The gateway asks identity to resolve the token (identity checks
//! revocation, membership and a user-owned bot's owner's membership);
//! [`crate::policy`] decides what the principal may then do.
//!
//! Successful answers are cached per token (and, for sessions, per target
//! workspace) in [`crate::auth_cache`], which identity's change stream keeps
//! honest: an answered revocation is refused by the next request on every
//! gateway. Raw tokens are never stored, logged or echoed.

use crate::error::ApiError;
use crate::principal::{Credential, Principal};
use crate::state::AppState;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use clickclack_common::token::{BOT_TOKEN_PREFIX, RawToken, SESSION_TOKEN_PREFIX};
use clickclack_proto::identity as pb;
use std::sync::Arc;
use std::time::Duration;
use tonic::Code;

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
    let answer = state.identity().authenticate(request).await;
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
