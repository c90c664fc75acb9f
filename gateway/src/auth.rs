//! Bearer authentication for every `/api` route.
//!
//! The gateway asks identity to resolve the token (identity checks revocation,
//! the bot's membership and a user-owned bot's owner's membership), then
//! checks the route's scope and target workspace itself. Successful answers
//! are cached for a short TTL keyed by the token's SHA-256, so a revocation or
//! an owner's removal takes effect within that TTL. Raw tokens are never
//! stored, logged or echoed.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use clickclack_common::assertion::Claims;
use clickclack_common::scopes::{self, Scope};
use clickclack_common::token::{BOT_TOKEN_PREFIX, RawToken, TokenHash};
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::Code;

/// Who a request acts as.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: wire::User,
    /// The workspace the token is bound to.
    pub workspace_id: String,
    pub scopes: BTreeSet<Scope>,
    pub token_id: String,
}

impl Principal {
    /// The signed-assertion claims services receive for this principal.
    pub fn claims(&self) -> Claims {
        // Bot tokens are the only credential so far; a bot's role is "bot".
        Claims::new(
            &self.user.id,
            &self.user.kind,
            &self.workspace_id,
            "bot",
            &self.scopes,
        )
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

    /// A token only ever reaches its own workspace.
    pub fn require_workspace(&self, workspace_id: &str) -> Result<(), ApiError> {
        if self.workspace_id == workspace_id {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "this token is not valid for that workspace",
            ))
        }
    }

    fn from_pb(principal: pb::Principal) -> Result<Principal, ApiError> {
        let user = principal
            .user
            .ok_or_else(|| ApiError::unauthorized("invalid bearer token"))?;
        Ok(Principal {
            user: user.into(),
            workspace_id: principal.workspace_id,
            scopes: scopes::parse_stored(&principal.scopes),
            token_id: principal.token_id,
        })
    }
}

/// Short-lived cache of successful authentications.
pub struct AuthCache {
    ttl: Duration,
    entries: Mutex<HashMap<TokenHash, (Instant, Arc<Principal>)>>,
}

/// Above this many entries, expired ones are swept on insert.
const CACHE_SWEEP_THRESHOLD: usize = 10_000;

impl AuthCache {
    pub fn new(ttl: Duration) -> Self {
        AuthCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &TokenHash) -> Option<Arc<Principal>> {
        let entries = self.entries.lock().expect("auth cache lock");
        entries
            .get(key)
            .filter(|(stored, _)| stored.elapsed() < self.ttl)
            .map(|(_, principal)| principal.clone())
    }

    fn put(&self, key: TokenHash, principal: Arc<Principal>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("auth cache lock");
        if entries.len() >= CACHE_SWEEP_THRESHOLD {
            let ttl = self.ttl;
            entries.retain(|_, (stored, _)| stored.elapsed() < ttl);
        }
        entries.insert(key, (Instant::now(), principal));
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

/// Resolves a presented token to its principal, through the cache.
pub async fn authenticate(state: &AppState, token: &RawToken) -> Result<Arc<Principal>, ApiError> {
    if !token.is_well_formed(BOT_TOKEN_PREFIX) {
        return Err(ApiError::unauthorized("invalid bearer token"));
    }
    let key = token.hash();
    if let Some(principal) = state.auth_cache.get(&key) {
        state.metrics.auth_cache_hits.inc();
        return Ok(principal);
    }
    state.metrics.auth_cache_misses.inc();
    let request = pb::AuthenticateRequest {
        token: token.expose().to_owned(),
    };
    let answer = state.identity.clone().authenticate(request).await;
    let principal = match answer {
        Ok(response) => Arc::new(Principal::from_pb(response.into_inner())?),
        Err(status) => {
            return Err(match status.code() {
                Code::Unauthenticated | Code::NotFound => ApiError::unauthorized(status.message()),
                Code::PermissionDenied => ApiError::forbidden(status.message()),
                _ => status.into(),
            });
        }
    };
    state.auth_cache.put(key, principal.clone());
    tracing::Span::current().record("user_id", principal.user.id.as_str());
    Ok(principal)
}

impl FromRequestParts<AppState> for Arc<Principal> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_from_headers(&parts.headers)?;
        authenticate(state, &token).await
    }
}
