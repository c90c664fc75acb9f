//! Bearer authentication for every `/api` route.
//!
//! Two credentials exist: bot tokens (`ccb_`), bound to one workspace, and
//! human sessions (`sst_`), which span every workspace their human belongs
//! to. The gateway asks identity to resolve the token (identity checks
//! revocation, membership and a user-owned bot's owner's membership), then
//! checks the route's scope and target workspace itself.
//!
//! Successful answers are cached per token (and, for sessions, per target
//! workspace). The cache is only used while this gateway is subscribed to
//! identity's stream of authentication changes (see [`watch_auth_changes`]):
//! every revocation, removal or logout empties it at once, so a change
//! takes effect on every gateway within the time a notice takes to travel,
//! not a cache lifetime. Raw tokens are never stored, logged or echoed.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use clickclack_common::assertion::Claims;
use clickclack_common::scopes::{self, Scope};
use clickclack_common::token::{BOT_TOKEN_PREFIX, RawToken, SESSION_TOKEN_PREFIX, TokenHash};
use clickclack_common::{ids, wire};
use clickclack_proto::identity as pb;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
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

type CacheKey = (TokenHash, String);

/// Cache of successful authentications, emptied on every change notice.
pub struct AuthCache {
    ttl: Duration,
    entries: Mutex<HashMap<CacheKey, (Instant, Arc<Principal>)>>,
    /// Bumped on every clear; an answer fetched before a clear is not cached.
    generation: AtomicU64,
    /// True while this gateway receives identity's change notices. Without
    /// them nothing is cached, so a revocation is never served stale.
    live: AtomicBool,
    /// Tells open WebSockets what changed, so the ones concerned re-check.
    changed: tokio::sync::broadcast::Sender<Arc<pb::AuthChange>>,
}

/// Change notices a socket may fall behind by before it re-checks anyway.
const CHANGE_BUFFER: usize = 256;

/// Above this many entries, expired ones are swept on insert.
const CACHE_SWEEP_THRESHOLD: usize = 10_000;

impl AuthCache {
    pub fn new(ttl: Duration) -> Self {
        AuthCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            live: AtomicBool::new(false),
            changed: tokio::sync::broadcast::channel(CHANGE_BUFFER).0,
        }
    }

    /// Whether change notices are arriving (and so whether caching is on).
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    /// Every change notice from now on (a lagging receiver must assume
    /// anything changed).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<pb::AuthChange>> {
        self.changed.subscribe()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn get(&self, key: &CacheKey) -> Option<Arc<Principal>> {
        let entries = self.entries.lock().expect("auth cache lock");
        entries
            .get(key)
            .filter(|(until, _)| Instant::now() < *until)
            .map(|(_, principal)| principal.clone())
    }

    fn put(&self, key: CacheKey, principal: Arc<Principal>, fetched_in: u64) {
        if self.ttl.is_zero() || !self.is_live() {
            return;
        }
        // Never cache past the credential's own end.
        let ttl = principal
            .time_left()
            .map_or(self.ttl, |left| left.min(self.ttl));
        let until = Instant::now() + ttl;
        let mut entries = self.entries.lock().expect("auth cache lock");
        if self.generation() != fetched_in {
            return;
        }
        if entries.len() >= CACHE_SWEEP_THRESHOLD {
            let now = Instant::now();
            entries.retain(|_, (until, _)| now < *until);
        }
        entries.insert(key, (until, principal));
    }

    /// Drops everything cached and tells open sockets what changed.
    pub fn clear(&self, change: pb::AuthChange) {
        let mut entries = self.entries.lock().expect("auth cache lock");
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
        drop(entries);
        // No socket listening is fine.
        let _ = self.changed.send(Arc::new(change));
    }

    fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::SeqCst);
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

/// Resolves a presented token to its principal, through the cache. For a
/// session, `workspace` (id or slug, may be empty) is the workspace the
/// request targets; bot tokens ignore it.
pub async fn authenticate(
    state: &AppState,
    token: Arc<RawToken>,
    workspace: &str,
) -> Result<Arc<Principal>, ApiError> {
    let is_session = token.is_well_formed(SESSION_TOKEN_PREFIX);
    if !is_session && !token.is_well_formed(BOT_TOKEN_PREFIX) {
        return Err(ApiError::unauthorized("invalid bearer token"));
    }
    let workspace = if is_session { workspace } else { "" };
    let key = (token.hash(), workspace.to_owned());
    if let Some(principal) = state.auth_cache.get(&key) {
        state.metrics.auth_cache_hits.inc();
        return Ok(principal);
    }
    state.metrics.auth_cache_misses.inc();
    let generation = state.auth_cache.generation();
    let request = pb::AuthenticateRequest {
        token: token.expose().to_owned(),
        workspace: workspace.to_owned(),
    };
    let answer = state.identity.clone().authenticate(request).await;
    let principal = match answer {
        Ok(response) => Arc::new(Principal::from_pb(response.into_inner(), token)?),
        Err(status) => {
            return Err(match status.code() {
                Code::Unauthenticated => ApiError::unauthorized(status.message()),
                Code::PermissionDenied => ApiError::forbidden(status.message()),
                _ => status.into(),
            });
        }
    };
    state.auth_cache.put(key, principal.clone(), generation);
    tracing::Span::current().record("user_id", principal.user.id.as_str());
    Ok(principal)
}

/// Re-checks a principal's credential (ignoring the cache's copy only in
/// that the cache is emptied by every change notice).
pub async fn recheck(state: &AppState, principal: &Principal) -> Result<Arc<Principal>, ApiError> {
    authenticate(state, principal.bearer.clone(), &principal.workspace_id).await
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
        let token = Arc::new(bearer_from_headers(&parts.headers)?);
        if !token.is_well_formed(SESSION_TOKEN_PREFIX) {
            return authenticate(state, token, "").await;
        }
        let (workspace, located) = target_workspace(state, parts).await?;
        match authenticate(state, token, &workspace).await {
            // A resource in a workspace the human is not in stays invisible.
            Err(error) if located && error.status == axum::http::StatusCode::FORBIDDEN => {
                Err(ApiError::not_found("not found"))
            }
            other => other,
        }
    }
}

/// Keeps this gateway subscribed to identity's authentication changes,
/// emptying the cache on every notice and whenever the stream is (re)opened
/// or lost. Runs until `shutdown`.
pub fn watch_auth_changes(state: AppState, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        while !shutdown.is_cancelled() {
            let stream = state
                .identity
                .clone()
                .watch_auth_changes(pb::WatchAuthChangesRequest {})
                .await;
            if let Ok(response) = stream {
                let mut stream = response.into_inner();
                loop {
                    let next = tokio::select! {
                        next = stream.message() => next,
                        _ = shutdown.cancelled() => return,
                    };
                    match next {
                        Ok(Some(change)) => {
                            if change.kind == "hello" {
                                backoff = Duration::from_millis(100);
                                state.auth_cache.set_live(true);
                            }
                            state.auth_cache.clear(change);
                        }
                        Ok(None) | Err(_) => break,
                    }
                }
            }
            // Without notices nothing may be served from the cache.
            state.auth_cache.set_live(false);
            state.auth_cache.clear(pb::AuthChange {
                kind: "resync".into(),
                subject_id: String::new(),
            });
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.cancelled() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    });
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
