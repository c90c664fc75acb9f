//! A long-running bot that answers every new message in its thread with
//! `echo: <text>`. Ctrl-C stops it; it resumes where it left off.
//!
//! ```sh
//! CLICKCLACK_URL=https://app.clickclack.chat CLICKCLACK_TOKEN=ccb_... \
//!   cargo run -p clickclack-sdk --example echo_bot
//! ```
//!
//! Optional: `CLICKCLACK_CA_CERT` (a PEM file of extra CAs to trust),
//! `CLICKCLACK_WORKSPACE_ID` (default: the token's workspace),
//! `CLICKCLACK_CURSOR_FILE` (default `.clickclack-cursor`), `RUST_LOG`
//! (default `info`).

use anyhow::Context as _;
use clickclack_sdk::{Bot, Client, DEFAULT_CURSOR_FILE, FileCursorStore, echo};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();

    // CLICKCLACK_URL, CLICKCLACK_TOKEN and, for a private CA, CLICKCLACK_CA_CERT.
    let client = Client::from_env()?;
    let cursor_file =
        std::env::var("CLICKCLACK_CURSOR_FILE").unwrap_or_else(|_| DEFAULT_CURSOR_FILE.into());
    let mut builder = Bot::builder(client)
        .cursor_store(FileCursorStore::new(cursor_file))
        .handler(echo::reply_in_thread);
    if let Ok(workspace_id) = std::env::var("CLICKCLACK_WORKSPACE_ID") {
        builder = builder.workspace_id(workspace_id);
    }
    let bot = builder.build()?;

    let handle = bot.handle();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("ctrl-c: stopping");
            handle.shutdown();
        }
    });
    bot.run().await.context("the echo bot stopped")?;
    Ok(())
}
