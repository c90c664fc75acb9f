//! Rust SDK for ClickClack bots and integrations.
//!
//! - [`Client`]: a typed async client for the HTTP API (`API.md`), one
//!   bearer token per client. The token never appears in `Debug` output,
//!   errors or logs.
//! - [`Bot`]: a long-running runner that authenticates, resumes from a
//!   stored cursor, back-fills missed events over HTTP, follows the realtime
//!   WebSocket, reconnects with jittered backoff, and hands every event to
//!   your handler at most once per cursor.
//! - [`echo`]: a ready-made handler that answers messages in their thread.
//! - [`webhook`]: checking the signature of an event subscription's
//!   delivery ([`webhook::verify_webhook`]).
//!
//! ```no_run
//! use clickclack_sdk::{Bot, Client, FileCursorStore, echo};
//!
//! # async fn run() -> Result<(), clickclack_sdk::Error> {
//! let client = Client::new("http://127.0.0.1:8080", "ccb_...")?;
//! let bot = Bot::builder(client)
//!     .cursor_store(FileCursorStore::new(".clickclack-cursor"))
//!     .handler(echo::reply_in_thread)
//!     .build()?;
//! let handle = bot.handle();
//! tokio::spawn(async move {
//!     let _ = tokio::signal::ctrl_c().await;
//!     handle.shutdown();
//! });
//! bot.run().await
//! # }
//! ```
//!
//! Both `http://` and `https://` base URLs work; the realtime WebSocket
//! follows (`ws://` / `wss://`). TLS is rustls, verified against the
//! system's roots plus any extra CA given to [`Client::builder`]
//! ([`ClientBuilder::extra_root_ca_pem`]) or, with [`Client::from_env`], in
//! `CLICKCLACK_CA_CERT`.

pub mod backoff;
mod bot;
mod client;
mod cursor;
pub mod echo;
mod error;
mod socket;
mod tls;
mod types;
pub mod webhook;

pub use backoff::Backoff;
pub use bot::{
    Bot, BotBuilder, BotHandle, BotStatus, Context, DEFAULT_CURSOR_FILE, HandlerError,
    HandlerResult,
};
pub use client::{
    Client, ClientBuilder, ENV_CA_CERT, ENV_TOKEN, ENV_URL, MessageQuery, ThreadQuery,
};
pub use cursor::{CursorStore, FileCursorStore, MemoryCursorStore};
pub use error::{Error, Result};
pub use types::{
    Channel, Event, EventPage, Message, MessagePage, Posted, Reaction, Thread, ThreadState, User,
    Workspace, event_types,
};
