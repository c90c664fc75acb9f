//! `GET /api/realtime/ws`: one session per socket: replay after the
//! cursor, then the gateway's live feed, closing with the documented codes
//! when the credential stops working or the feed is lost.

use crate::auth::{self, Refused};
use crate::error::ApiError;
use crate::live::{self, Live};
use crate::policy;
use crate::principal::Principal;
use crate::render;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use clickclack_common::cursor;
use clickclack_common::token::RawToken;
use clickclack_proto::realtime as rt;
use futures_util::SinkExt;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tonic::Code;
/// Prefix of the subprotocol that carries a bearer token.
const BEARER_PROTOCOL: &str = "clickclack.bearer.";
/// Idle sockets get a protocol ping this often.
const PING_INTERVAL: Duration = Duration::from_secs(20);
/// How often an open socket re-checks its token while identity's change
/// notices are not arriving. With notices flowing, a socket re-checks on
/// each notice and when its credential expires, and otherwise only at
/// [`REAUTH_BACKSTOP`].
const REAUTH_FALLBACK: Duration = Duration::from_millis(250);
const REAUTH_BACKSTOP: Duration = Duration::from_secs(30);
/// Largest frame the socket accepts or sends.
const MAX_FRAME: usize = 16 * 1024 * 1024;
/// Clients send only control frames, so a small read buffer (tungstenite's
/// default is 128 KiB per socket) is plenty; it grows for a larger frame.
const SOCKET_READ_BUFFER: usize = 4 * 1024;
/// Frames are written out once this much is queued (and on every flush).
const SOCKET_WRITE_BUFFER: usize = 16 * 1024;
/// How long a new socket waits for the gateway's live feed to connect.
const FEED_WAIT: Duration = Duration::from_secs(2);
/// Live items queued per socket write.
const LIVE_BATCH: usize = 256;

const CLOSE_RESYNC: u16 = 4001;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_OVERLOAD: u16 = 1013;
const CLOSE_GOING_AWAY: u16 = 1001;

/// 1008 reasons (API.md §8).
const REASON_TOKEN_REVOKED: &str = "bot token revoked; reconnect with a valid token";
const REASON_SESSION_ENDED: &str = "session ended; sign in again";
const REASON_ACCESS_REVOKED: &str = "workspace access revoked";

#[derive(Deserialize, schemars::JsonSchema)]
pub struct SocketQuery {
    #[serde(default)]
    workspace_id: String,
    #[serde(default)]
    after_cursor: String,
}

/// The bearer token of an upgrade request and, when it came as a
/// subprotocol, the exact protocol string to echo.
fn socket_token(headers: &HeaderMap) -> Result<(RawToken, Option<String>), ApiError> {
    if headers.contains_key(header::AUTHORIZATION) {
        return Ok((auth::bearer_from_headers(headers)?, None));
    }
    let offered = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find(|protocol| protocol.starts_with(BEARER_PROTOCOL));
    let Some(offered) = offered else {
        // The web app: its session cookie, from this origin only.
        let session = crate::cookies::credential(&axum::http::Method::GET, headers)?;
        return Ok((session, None));
    };
    let token = RawToken::from_presented(&offered[BEARER_PROTOCOL.len()..]);
    Ok((token, Some(offered.to_owned())))
}

/// `GET /api/realtime/ws?workspace_id=&after_cursor=`: one `Event` per text
/// frame, replay after the cursor then live.
pub async fn socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<SocketQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // Listen for credential changes before authenticating: a change that
    // lands after this point closes the socket, one before it is already
    // reflected in the answer.
    let changes = state.auth_cache.subscribe();
    let (token, protocol) = socket_token(&headers)?;
    let principal = auth::authenticate(&state, Arc::new(token), &query.workspace_id).await?;
    if query.workspace_id.is_empty() {
        return Err(ApiError::bad_request("workspace_id is required"));
    }
    policy::caller_workspace(&state, &principal, &query.workspace_id).await?;
    policy::rule_for("GET", "/api/realtime/ws")
        .expect("the socket has a rule")
        .admits(&principal)?;

    let mut upgrade = upgrade
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .read_buffer_size(SOCKET_READ_BUFFER)
        .write_buffer_size(SOCKET_WRITE_BUFFER);
    if let Some(protocol) = protocol.clone() {
        upgrade = upgrade.protocols([protocol]);
    }
    // Counted from now, not from when the upgrade completes, so a gateway
    // that stops in between still waits to say goodbye on this socket.
    let tracked = state.socket_tasks.token();
    Ok(upgrade
        .on_upgrade(move |socket| async move {
            let session = Session {
                state,
                principal,
                after_cursor: query.after_cursor,
                changes,
            };
            session.run(socket).await;
            drop(tracked);
        })
        .into_response())
}

struct Session {
    state: AppState,
    /// Re-checked on every change notice, at expiry and now and then, so a
    /// revocation or removal closes the socket with 1008.
    principal: Arc<Principal>,
    after_cursor: String,
    /// Credential change notices since just before authentication.
    changes: tokio::sync::broadcast::Receiver<Arc<clickclack_proto::identity::AuthChange>>,
}

/// When a principal's credential ends by itself (far away when it does not).
fn expiry_deadline(principal: &Principal) -> tokio::time::Instant {
    let far = Duration::from_secs(365 * 24 * 3600);
    let left = principal.time_left().unwrap_or(far);
    tokio::time::Instant::now() + left.min(far)
}

/// Close reasons are at most 123 bytes (RFC 6455 §5.5).
fn close_reason(reason: &str) -> String {
    clickclack_common::grpc::prefix_within(reason, 123).to_owned()
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: close_reason(reason).into(),
        })))
        .await;
}

/// The 1008 reason for a credential that stopped working.
fn revoked_reason(refused: &Refused, principal: &Principal) -> Option<&'static str> {
    match refused {
        Refused::Credential(_) if principal.is_session() => Some(REASON_SESSION_ENDED),
        Refused::Credential(_) => Some(REASON_TOKEN_REVOKED),
        Refused::Access(_) => Some(REASON_ACCESS_REVOKED),
        // A backend hiccup is not a revocation: the socket stays open.
        Refused::Unavailable(_) => None,
    }
}

/// How a session ended, as its close frame.
enum Ending {
    /// Sent already, or the peer is gone: nothing more to send.
    Done,
    Close(u16, String),
}

impl Session {
    /// Re-checks the socket's credential: why it no longer works, or when
    /// to look again at the latest (its current end of validity).
    async fn recheck(&self) -> Result<tokio::time::Instant, &'static str> {
        match auth::recheck(&self.state, &self.principal).await {
            Ok(fresh) => Ok(expiry_deadline(&fresh)),
            Err(refused) => match revoked_reason(&refused, &self.principal) {
                Some(reason) => Err(reason),
                None => Ok(expiry_deadline(&self.principal)),
            },
        }
    }

    /// Sends what realtime replays after `after_cursor`, page by page
    /// (`resume`: continue after an earlier page, without the start rules);
    /// returns the log position the replay vouched for.
    async fn replay(
        &self,
        socket: &mut WebSocket,
        after_cursor: String,
        resume: bool,
    ) -> Result<i64, Ending> {
        let (mut after_cursor, mut resume) = (after_cursor, resume);
        loop {
            let page = self
                .state
                .realtime
                .clone()
                .backfill(self.state.signed(
                    &self.principal,
                    rt::BackfillRequest {
                        after_cursor,
                        resume,
                    },
                ))
                .await
                .map_err(|status| subscription_failed(&status))?
                .into_inner();
            for event in &page.events {
                let frame = render::event(event).to_string();
                socket
                    .feed(Message::Text(frame.into()))
                    .await
                    .map_err(|_| Ending::Done)?;
                self.state.metrics.events_delivered.inc();
            }
            socket.flush().await.map_err(|_| Ending::Done)?;
            let covered = cursor::decode(&page.covered_cursor).unwrap_or_default();
            if page.complete {
                return Ok(covered);
            }
            (after_cursor, resume) = (page.covered_cursor, true);
        }
    }

    /// Queues one live item for this socket if it may see it: durable
    /// events once each, past the replay, in log order.
    async fn take(
        &self,
        socket: &mut WebSocket,
        item: Result<Live, RecvError>,
        covered: &mut i64,
    ) -> Result<(), Ending> {
        match item {
            Ok(Live::Event(live)) => {
                if let Some(position) = live.position {
                    if position <= *covered {
                        return Ok(());
                    }
                    *covered = position;
                }
                let visible = live::visible_to(
                    &live.event,
                    &self.principal.workspace_id,
                    &self.principal.user.id,
                );
                if visible {
                    socket
                        .feed(Message::Text(live.frame.clone()))
                        .await
                        .map_err(|_| Ending::Done)?;
                    self.state.metrics.events_delivered.inc();
                }
                Ok(())
            }
            // Fell behind the feed: the log has everything it skipped.
            Err(RecvError::Lagged(_)) => {
                *covered = self.replay(socket, cursor::encode(*covered), true).await?;
                Ok(())
            }
            Ok(Live::Lost) | Err(RecvError::Closed) => Err(realtime_unavailable()),
        }
    }

    async fn run(mut self, mut socket: WebSocket) {
        let sockets = self.state.sockets.clone();
        if sockets.fetch_add(1, Ordering::SeqCst) >= self.state.max_sockets {
            sockets.fetch_sub(1, Ordering::SeqCst);
            close(
                &mut socket,
                CLOSE_OVERLOAD,
                "server overloaded; retry later",
            )
            .await;
            return;
        }
        self.state.metrics.active_websockets.inc();
        let ending = self.serve(&mut socket).await;
        if let Ending::Close(code, reason) = ending {
            close(&mut socket, code, &reason).await;
        }
        self.state.metrics.active_websockets.dec();
        sockets.fetch_sub(1, Ordering::SeqCst);
    }

    async fn serve(&mut self, socket: &mut WebSocket) -> Ending {
        let going_away = self.state.shutdown.clone();
        // Subscribe to the gateway's live feed before checking it is
        // following and before reading the backfill (crate::live explains
        // why nothing falls between).
        let mut live = self.state.live.subscribe();
        if !self.state.live.wait_following(FEED_WAIT).await {
            return realtime_unavailable();
        }
        let mut covered = match self.replay(socket, self.after_cursor.clone(), false).await {
            Ok(covered) => covered,
            Err(ending) => return ending,
        };
        let mut ping = tokio::time::interval(PING_INTERVAL);
        ping.tick().await;
        let mut fallback = tokio::time::interval(REAUTH_FALLBACK);
        let mut last_check = tokio::time::Instant::now();
        // Sessions and rotated tokens end by themselves: re-check then. The
        // end can move (a rotation starts a grace period), so every
        // successful re-check re-arms the timer.
        let expired = tokio::time::sleep_until(expiry_deadline(&self.principal));
        tokio::pin!(expired);
        loop {
            tokio::select! {
                // Shutdown wins over everything else that is ready, so a
                // stopping gateway always says 1001 rather than what its
                // stopping peers would make it say.
                biased;
                _ = going_away.cancelled() => {
                    return Ending::Close(CLOSE_GOING_AWAY, "server shutting down; reconnect".into());
                }
                incoming = socket.recv() => match incoming {
                    // The client is closing. The library has queued the
                    // echo of its close frame (RFC 6455 §5.5.1); closing
                    // our side flushes it, so the client sees a clean close
                    // (its own code) instead of a dropped connection.
                    Some(Ok(Message::Close(_))) => {
                        let _ = SinkExt::close(socket).await;
                        return Ending::Done;
                    }
                    Some(Err(_)) | None => return Ending::Done,
                    // Clients send nothing but control frames; axum answers pings.
                    Some(Ok(_)) => {}
                },
                item = live.recv() => {
                    // Queue what is ready (up to a bound, so the other
                    // branches still get their turn), then write it at once.
                    let mut item = item;
                    let mut queued = 0;
                    loop {
                        if let Err(ending) = self.take(socket, item, &mut covered).await {
                            return ending;
                        }
                        queued += 1;
                        if queued == LIVE_BATCH {
                            break;
                        }
                        item = match live.try_recv() {
                            Ok(next) => Ok(next),
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Lagged(missed)) => Err(RecvError::Lagged(missed)),
                            Err(TryRecvError::Closed) => Err(RecvError::Closed),
                        };
                    }
                    if socket.flush().await.is_err() {
                        return Ending::Done;
                    }
                }
                _ = ping.tick() => {
                    if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                        return Ending::Done;
                    }
                }
                change = self.changes.recv() => {
                    let concerned = match change {
                        Ok(change) => self.principal.concerned_by(&change),
                        // Missed notices: any of them may have been ours.
                        Err(RecvError::Lagged(_)) => true,
                        Err(RecvError::Closed) => return Ending::Done,
                    };
                    if !concerned {
                        continue;
                    }
                    match self.recheck().await {
                        Err(reason) => return Ending::Close(CLOSE_POLICY, reason.into()),
                        Ok(deadline) => expired.as_mut().reset(deadline),
                    }
                    last_check = tokio::time::Instant::now();
                }
                _ = &mut expired => {
                    match self.recheck().await {
                        Err(reason) => return Ending::Close(CLOSE_POLICY, reason.into()),
                        // Still valid (clock skew): look again shortly.
                        Ok(deadline) => expired.as_mut().reset(
                            deadline.max(tokio::time::Instant::now() + REAUTH_FALLBACK),
                        ),
                    }
                }
                _ = fallback.tick() => {
                    let due = if self.state.auth_cache.is_live() {
                        REAUTH_BACKSTOP
                    } else {
                        REAUTH_FALLBACK
                    };
                    if last_check.elapsed() >= due {
                        last_check = tokio::time::Instant::now();
                        match self.recheck().await {
                            Err(reason) => return Ending::Close(CLOSE_POLICY, reason.into()),
                            Ok(deadline) => expired.as_mut().reset(deadline),
                        }
                    }
                }
            }
        }
    }
}

/// How a failed replay closes the socket: 4001 with realtime's reason when
/// the client must re-sync, else 1013 (reconnect with your cursor).
fn subscription_failed(status: &tonic::Status) -> Ending {
    if status.code() == Code::FailedPrecondition {
        return Ending::Close(CLOSE_RESYNC, status.message().into());
    }
    tracing::warn!(error = %status.message(), "realtime replay failed");
    realtime_unavailable()
}

fn realtime_unavailable() -> Ending {
    Ending::Close(CLOSE_OVERLOAD, "realtime unavailable; reconnect".into())
}
