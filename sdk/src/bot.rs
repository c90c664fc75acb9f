//! The bot runner: authenticate, resume from a cursor, back-fill over HTTP,
//! follow the realtime WebSocket, reconnect, and hand each event to a
//! handler.
//!
//! Delivery guarantees, and the choices behind them:
//!
//! - **At most once per cursor, in order.** Events are handled one at a
//!   time in cursor order; an event whose cursor is not greater than the last
//!   handled one (a replay after a reconnect) is skipped. Ephemeral events
//!   (`cursor: ""`) are handed over but never stored.
//! - **At least once across crashes.** The cursor is saved *after* the
//!   handler returns, so a crash between the two hands that event over
//!   again on restart. Handlers that post should use a nonce derived from
//!   the source event (as [`crate::echo`] does) so a redelivery cannot post
//!   twice.
//! - **Handler failures are retried, then skipped.** A failing (or
//!   panicking) handler is retried a few times with backoff; after the last
//!   attempt the error is logged and the cursor advances. One poison event
//!   must not stall the bot forever, and a bot that stops answering is worse
//!   than one missed event that the log shows.
//! - **Fresh bots start at the tail.** With no stored cursor the bot starts
//!   after the newest event, so it does not answer history.
//! - **Own messages are skipped.** `message.created` and
//!   `thread.reply_created` authored by the bot never reach the handler (its
//!   cursor still advances), so a bot cannot answer itself in a loop.
//! - **Connections.** Every (re)connection first back-fills over HTTP
//!   (`GET /api/realtime/events` after the cursor, page by page until
//!   empty), then opens the WebSocket with `after_cursor`. A 4001 close
//!   (resync) is handled by that back-fill on the next connection; a 1008
//!   close, 401 or 403 ends [`Bot::run`] with an error (the token was revoked
//!   or the bot removed); anything else reconnects after a full-jitter
//!   exponential delay, reset once a connection has proved healthy.

use crate::backoff::Backoff;
use crate::client::Client;
use crate::cursor::{CursorStore, FileCursorStore};
use crate::error::{Error, Result};
use crate::socket::Socket;
use crate::types::{Event, User};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// What a handler may fail with: any error (`anyhow::Error`, this crate's
/// [`Error`], ...) converts into it.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
pub type HandlerResult = std::result::Result<(), HandlerError>;

type DynHandler = Arc<dyn Fn(Context, Event) -> BoxFuture<'static, HandlerResult> + Send + Sync>;

/// The default cursor file, relative to the working directory.
pub const DEFAULT_CURSOR_FILE: &str = ".clickclack-cursor";
/// Events per back-fill page (the server's maximum).
const PULL_LIMIT: u32 = 500;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The server pings idle sockets every 20 s; three missed pings mean the
/// connection is dead even if TCP has not noticed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A connection that lasted this long (or delivered an event) was healthy:
/// the next reconnect starts from the smallest delay again.
const HEALTHY_AFTER: Duration = Duration::from_secs(10);
/// Never sleep longer than this on a server's `Retry-After`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
const CLOSE_RESYNC: u16 = 4001;
const CLOSE_POLICY: u16 = 1008;

/// What a handler gets with each event.
#[derive(Debug, Clone)]
pub struct Context {
    /// The bot's client, to fetch messages and answer.
    pub client: Client,
    /// The bot's own user (from `GET /api/me`).
    pub me: User,
    /// The workspace the bot follows.
    pub workspace_id: String,
    /// Lets a handler stop the bot or look at its status.
    pub handle: BotHandle,
}

/// A snapshot of a running bot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotStatus {
    /// The realtime WebSocket is open.
    pub connected: bool,
    /// How many times the WebSocket was opened (reconnects included).
    pub connections: u64,
    /// The last durable cursor handled (or skipped); where a restart resumes.
    pub cursor: Option<String>,
    /// Handler calls that succeeded.
    pub handled: u64,
    /// Events given up on after the handler failed every attempt.
    pub failed: u64,
}

/// Stops a bot and observes it; cheap to clone, usable from any task.
#[derive(Debug, Clone)]
pub struct BotHandle {
    shutdown: Arc<watch::Sender<bool>>,
    status: Arc<watch::Sender<BotStatus>>,
}

impl BotHandle {
    fn new() -> BotHandle {
        BotHandle {
            shutdown: Arc::new(watch::channel(false).0),
            status: Arc::new(watch::channel(BotStatus::default()).0),
        }
    }

    /// Asks the bot to stop. A handler call in progress finishes first;
    /// waits (reconnect delays, socket reads, retries) end at once, and
    /// [`Bot::run`] returns `Ok(())`.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn is_shutdown(&self) -> bool {
        *self.shutdown.borrow()
    }

    pub fn status(&self) -> BotStatus {
        self.status.borrow().clone()
    }

    /// Status updates, e.g. `handle.watch_status().wait_for(|s| s.connected)`.
    pub fn watch_status(&self) -> watch::Receiver<BotStatus> {
        self.status.subscribe()
    }

    fn update(&self, change: impl FnOnce(&mut BotStatus)) {
        self.status.send_modify(change);
    }
}

/// Configures a [`Bot`]; see [`Bot::builder`].
pub struct BotBuilder {
    client: Client,
    workspace_id: Option<String>,
    store: Option<Arc<dyn CursorStore>>,
    handler: Option<DynHandler>,
    reconnect: Backoff,
    handler_attempts: u32,
    handler_backoff: Backoff,
}

impl BotBuilder {
    /// The workspace to follow. Default: the token's workspace (the first,
    /// and for a bot token the only, one in `GET /api/workspaces`).
    pub fn workspace_id(mut self, workspace_id: impl Into<String>) -> Self {
        self.workspace_id = Some(workspace_id.into());
        self
    }

    /// Where the cursor is kept. Default: [`FileCursorStore`] at
    /// [`DEFAULT_CURSOR_FILE`].
    pub fn cursor_store(mut self, store: impl CursorStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Shorthand for a [`FileCursorStore`] at `path`.
    pub fn cursor_file(self, path: impl Into<PathBuf>) -> Self {
        self.cursor_store(FileCursorStore::new(path))
    }

    /// The event handler (required): an async function or closure taking
    /// `(Context, Event)` and returning `Result<(), E>` for any error type
    /// that converts into [`HandlerError`].
    pub fn handler<F, Fut, E>(mut self, handler: F) -> Self
    where
        F: Fn(Context, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), E>> + Send + 'static,
        E: Into<HandlerError> + 'static,
    {
        self.handler = Some(Arc::new(move |context, event| {
            let call = handler(context, event);
            Box::pin(async move { call.await.map_err(Into::into) })
        }));
        self
    }

    /// Reconnect delays: full jitter, doubling from `base` up to `cap`
    /// (default 200 ms and 30 s).
    pub fn reconnect_backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.reconnect = Backoff::new(base, cap);
        self
    }

    /// How often a failing handler is called for one event before the event
    /// is skipped (default 3, at least 1), and the delays between the calls
    /// (default 200 ms doubling up to 5 s).
    pub fn handler_retries(mut self, attempts: u32, base: Duration, cap: Duration) -> Self {
        self.handler_attempts = attempts.max(1);
        self.handler_backoff = Backoff::new(base, cap);
        self
    }

    pub fn build(self) -> Result<Bot> {
        let handler = self.handler.ok_or(Error::Config("a handler is required"))?;
        Ok(Bot {
            client: self.client,
            workspace_id: self.workspace_id,
            store: self
                .store
                .unwrap_or_else(|| Arc::new(FileCursorStore::new(DEFAULT_CURSOR_FILE))),
            handler,
            reconnect: self.reconnect,
            handler_attempts: self.handler_attempts,
            handler_backoff: self.handler_backoff,
            handle: BotHandle::new(),
        })
    }
}

/// A long-running bot: see the module docs for what it guarantees.
pub struct Bot {
    client: Client,
    workspace_id: Option<String>,
    store: Arc<dyn CursorStore>,
    handler: DynHandler,
    reconnect: Backoff,
    handler_attempts: u32,
    handler_backoff: Backoff,
    handle: BotHandle,
}

impl Bot {
    pub fn builder(client: Client) -> BotBuilder {
        BotBuilder {
            client,
            workspace_id: None,
            store: None,
            handler: None,
            reconnect: Backoff::default(),
            handler_attempts: 3,
            handler_backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(5)),
        }
    }

    /// Stops and observes the bot; take it before calling [`Bot::run`].
    pub fn handle(&self) -> BotHandle {
        self.handle.clone()
    }

    /// Runs until [`BotHandle::shutdown`] (then `Ok(())`) or until access is
    /// lost for good: the token is refused (401/403) or the socket is closed
    /// with 1008 ([`Error::Revoked`]). Transient failures (the gateway
    /// restarting, network errors, 5xx, 429) are retried forever with
    /// jittered backoff, and a cursor store that cannot be read at start is
    /// an error.
    pub async fn run(self) -> Result<()> {
        let mut runner = Runner {
            shutdown: self.handle.shutdown.subscribe(),
            client: self.client,
            store: self.store,
            handler: self.handler,
            handle: self.handle,
            reconnect: self.reconnect,
            handler_attempts: self.handler_attempts,
            handler_backoff: self.handler_backoff,
            workspace_id: self.workspace_id.unwrap_or_default(),
            me: User::default(),
            last: String::new(),
        };
        let Exit::Fatal(error) = runner.run().await else {
            tracing::info!(workspace_id = %runner.workspace_id, "bot stopped");
            return Ok(());
        };
        tracing::error!(workspace_id = %runner.workspace_id, error = %error, "bot stopped");
        Err(error)
    }
}

/// Why the runner stopped.
enum Exit {
    Shutdown,
    Fatal(Error),
}

/// How a connection ended without ending the bot.
enum Disconnect {
    /// Close 4001: the server cannot replay from our cursor; pull instead.
    Resync,
    Lost {
        reason: String,
        retry_after: Option<Duration>,
    },
}

/// Refused credentials end the bot; anything else is worth another try.
fn disconnect_or_exit(error: Error) -> Result<Disconnect, Exit> {
    if error.is_access_denied() {
        return Err(Exit::Fatal(error));
    }
    Ok(Disconnect::Lost {
        retry_after: error.retry_after(),
        reason: error.to_string(),
    })
}

/// Resolves once shutdown is requested.
async fn stop_requested(shutdown: &mut watch::Receiver<bool>) {
    // Drop the returned guard at once: it is not `Send`, so it must not be
    // held across an await.
    let _ = shutdown.wait_for(|stop| *stop).await.is_ok();
}

/// Awaits `future` unless shutdown is requested first.
async fn unless_stopped<T>(
    shutdown: &mut watch::Receiver<bool>,
    future: impl Future<Output = T>,
) -> Result<T, Exit> {
    tokio::select! {
        biased;
        _ = stop_requested(shutdown) => Err(Exit::Shutdown),
        value = future => Ok(value),
    }
}

/// Sleeps the backoff's next delay (at least `retry_after`), unless shutdown
/// is requested first.
async fn pause(
    shutdown: &mut watch::Receiver<bool>,
    backoff: &mut Backoff,
    retry_after: Option<Duration>,
) -> Result<(), Exit> {
    let delay = backoff
        .next_delay()
        .max(retry_after.unwrap_or_default().min(MAX_RETRY_AFTER));
    unless_stopped(shutdown, tokio::time::sleep(delay)).await
}

struct Runner {
    client: Client,
    store: Arc<dyn CursorStore>,
    handler: DynHandler,
    handle: BotHandle,
    shutdown: watch::Receiver<bool>,
    reconnect: Backoff,
    handler_attempts: u32,
    handler_backoff: Backoff,
    workspace_id: String,
    me: User,
    /// The last durable cursor handled; `""` before the first one.
    last: String,
}

impl Runner {
    async fn run(&mut self) -> Exit {
        if let Err(exit) = self.start().await {
            return exit;
        }
        loop {
            let outcome = self.session().await;
            self.handle.update(|status| status.connected = false);
            let retry_after = match outcome {
                Err(exit) => return exit,
                // The next session starts with a pull, which is the resync.
                Ok(Disconnect::Resync) => {
                    tracing::info!(
                        workspace_id = %self.workspace_id,
                        "the server asked for a resync (4001); back-filling over HTTP"
                    );
                    None
                }
                Ok(Disconnect::Lost {
                    reason,
                    retry_after,
                }) => {
                    tracing::warn!(
                        workspace_id = %self.workspace_id,
                        reason = %reason,
                        attempt = self.reconnect.attempt() + 1,
                        "realtime connection lost; reconnecting after a backoff delay"
                    );
                    retry_after
                }
            };
            if let Err(exit) = pause(&mut self.shutdown, &mut self.reconnect, retry_after).await {
                return exit;
            }
        }
    }

    /// Who am I, which workspace, and where to start.
    async fn start(&mut self) -> Result<(), Exit> {
        let client = self.client.clone();
        self.me = self.call("GET /api/me", || client.me()).await?;
        if self.workspace_id.is_empty() {
            let workspaces = self
                .call("GET /api/workspaces", || client.workspaces())
                .await?;
            self.workspace_id = workspaces
                .into_iter()
                .next()
                .ok_or(Exit::Fatal(Error::NoWorkspace))?
                .id;
        }
        let stored = self
            .store
            .load()
            .await
            .map_err(|error| Exit::Fatal(Error::CursorStore(error)))?;
        match stored {
            Some(cursor) => {
                tracing::info!(
                    workspace_id = %self.workspace_id,
                    bot = %self.me.id,
                    cursor = %cursor,
                    "resuming from the stored cursor"
                );
                self.last = cursor.clone();
                self.handle.update(|status| status.cursor = Some(cursor));
            }
            None => self.start_from_tail().await?,
        }
        Ok(())
    }

    /// Skips everything already in the log: a new bot answers only what
    /// happens from now on.
    async fn start_from_tail(&mut self) -> Result<(), Exit> {
        let client = self.client.clone();
        let workspace_id = self.workspace_id.clone();
        let page = self
            .call("GET /api/realtime/events (tail)", || {
                client.events(&workspace_id, None, Some(1), true)
            })
            .await?;
        self.last = page.tail_cursor.unwrap_or_default();
        tracing::info!(
            workspace_id = %self.workspace_id,
            bot = %self.me.id,
            cursor = %self.last,
            "no stored cursor: starting from the tail (earlier events are not handled)"
        );
        if !self.last.is_empty() {
            self.persist().await;
        }
        Ok(())
    }

    /// Calls `request` until it succeeds, retrying transient failures with
    /// backoff; any other failure ends the bot.
    async fn call<T, F, Fut>(&mut self, what: &str, mut request: F) -> Result<T, Exit>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut backoff = self.reconnect.clone();
        backoff.reset();
        loop {
            match unless_stopped(&mut self.shutdown, request()).await? {
                Ok(value) => return Ok(value),
                Err(error) if error.is_transient() => {
                    tracing::warn!(error = %error, "{what} failed; retrying");
                    pause(&mut self.shutdown, &mut backoff, error.retry_after()).await?;
                }
                Err(error) => return Err(Exit::Fatal(error)),
            }
        }
    }

    /// One connection: back-fill over HTTP, then follow the WebSocket until
    /// it ends.
    async fn session(&mut self) -> Result<Disconnect, Exit> {
        // Back-fill first, so the socket's replay is short (a long one would
        // be refused with 4001).
        loop {
            let pulled = unless_stopped(
                &mut self.shutdown,
                self.client.events(
                    &self.workspace_id,
                    Some(&self.last),
                    Some(PULL_LIMIT),
                    false,
                ),
            )
            .await?;
            let page = match pulled {
                Ok(page) => page,
                // The server does not know our cursor (another database, or
                // a log that was reset). Waiting cannot fix that: start over
                // from the tail, as a new bot would, and say so loudly.
                Err(Error::Api {
                    status: 400,
                    message,
                    ..
                }) if !self.last.is_empty() => {
                    tracing::warn!(
                        workspace_id = %self.workspace_id,
                        cursor = %self.last,
                        error = %message,
                        "the server refused the stored cursor; starting again from the tail"
                    );
                    self.start_from_tail().await?;
                    continue;
                }
                Err(error) => return disconnect_or_exit(error),
            };
            if page.events.is_empty() {
                break;
            }
            let before = self.last.clone();
            for event in page.events {
                self.dispatch(event).await?;
            }
            if self.last == before {
                // A page of nothing new (should not happen): do not spin.
                break;
            }
        }

        let connecting = tokio::time::timeout(
            CONNECT_TIMEOUT,
            self.client.open_socket(&self.workspace_id, &self.last),
        );
        let mut socket = match unless_stopped(&mut self.shutdown, connecting).await? {
            Ok(Ok(socket)) => socket,
            Ok(Err(error)) => return disconnect_or_exit(error),
            Err(_) => {
                return Ok(Disconnect::Lost {
                    reason: "timed out opening the WebSocket".into(),
                    retry_after: None,
                });
            }
        };
        let opened = Instant::now();
        self.handle.update(|status| {
            status.connected = true;
            status.connections += 1;
        });
        tracing::info!(
            workspace_id = %self.workspace_id,
            cursor = %self.last,
            "realtime connected"
        );

        let mut delivered = false;
        let lost = |reason: String| Disconnect::Lost {
            reason,
            retry_after: None,
        };
        let end = loop {
            let next = tokio::select! {
                biased;
                _ = stop_requested(&mut self.shutdown) => {
                    close(&mut socket).await;
                    return Err(Exit::Shutdown);
                }
                next = tokio::time::timeout(IDLE_TIMEOUT, socket.next()) => next,
            };
            match next {
                Err(_) => break lost(format!("no frame for {IDLE_TIMEOUT:?}")),
                Ok(None) => break lost("the connection ended".into()),
                Ok(Some(Err(error))) => break lost(error.to_string()),
                Ok(Some(Ok(Frame::Text(text)))) => {
                    match serde_json::from_str::<Event>(text.as_str()) {
                        Ok(event) => {
                            delivered = true;
                            self.dispatch(event).await?;
                        }
                        Err(error) => {
                            tracing::warn!(error = %error, "ignoring a frame that is not an event")
                        }
                    }
                }
                Ok(Some(Ok(Frame::Close(frame)))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    match code {
                        CLOSE_RESYNC => break Disconnect::Resync,
                        CLOSE_POLICY => return Err(Exit::Fatal(Error::Revoked { reason })),
                        _ => break lost(format!("closed by the server: {code} {reason}")),
                    }
                }
                // Pings are answered by tungstenite; nothing else is expected.
                Ok(Some(Ok(_))) => {}
            }
        };
        if delivered || opened.elapsed() >= HEALTHY_AFTER {
            self.reconnect.reset();
        }
        Ok(end)
    }

    /// Handles one event (unless it is a replay or the bot's own message)
    /// and then records its cursor.
    async fn dispatch(&mut self, event: Event) -> Result<(), Exit> {
        let durable = !event.is_ephemeral();
        // Cursors sort in append order as plain strings.
        if durable && event.cursor <= self.last {
            tracing::debug!(event_id = %event.id, cursor = %event.cursor, "skipping a replayed event");
            return Ok(());
        }
        if event.is_new_message() && event.author_id() == Some(self.me.id.as_str()) {
            tracing::debug!(event_id = %event.id, "skipping the bot's own message");
        } else {
            self.call_handler(&event).await?;
        }
        if durable {
            self.last = event.cursor;
            self.persist().await;
        }
        Ok(())
    }

    async fn call_handler(&mut self, event: &Event) -> Result<(), Exit> {
        let mut backoff = self.handler_backoff.clone();
        backoff.reset();
        for attempt in 1..=self.handler_attempts {
            let context = Context {
                client: self.client.clone(),
                me: self.me.clone(),
                workspace_id: self.workspace_id.clone(),
                handle: self.handle.clone(),
            };
            // A task of its own, so a panicking handler is one failed
            // attempt rather than the end of the bot.
            let (failure, retry_after) = match tokio::spawn((self.handler)(context, event.clone()))
                .await
            {
                Ok(Ok(())) => {
                    self.handle.update(|status| status.handled += 1);
                    return Ok(());
                }
                Ok(Err(error)) => {
                    let retry_after = error.downcast_ref::<Error>().and_then(Error::retry_after);
                    (error.to_string(), retry_after)
                }
                Err(join) => (format!("the handler panicked: {join}"), None),
            };
            if attempt == self.handler_attempts {
                tracing::error!(
                    event_id = %event.id,
                    event_type = %event.kind,
                    attempts = attempt,
                    error = %failure,
                    "the handler failed; skipping the event"
                );
                self.handle.update(|status| status.failed += 1);
                break;
            }
            tracing::warn!(
                event_id = %event.id,
                event_type = %event.kind,
                attempt,
                error = %failure,
                "the handler failed; retrying"
            );
            pause(&mut self.shutdown, &mut backoff, retry_after).await?;
        }
        Ok(())
    }

    /// Saves the cursor. A failed save is logged, not fatal: the bot keeps
    /// its place in memory, and the worst case after a crash is a redelivery.
    async fn persist(&mut self) {
        let cursor = self.last.clone();
        if let Err(error) = self.store.save(&cursor).await {
            tracing::warn!(
                error = %error,
                cursor = %cursor,
                "cannot save the cursor; a restart may hand some events over again"
            );
        }
        self.handle.update(|status| status.cursor = Some(cursor));
    }
}

/// Says goodbye properly, without letting a dead peer delay shutdown.
async fn close(socket: &mut Socket) {
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "bot stopping".into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(Some(frame))).await;
}
