//! A long-running bot that answers every new message in its thread with
//! `echo: <text>`. Ctrl-C stops it; it resumes where it left off.
//!
//! ```sh
//! CLICKCLACK_URL=http://127.0.0.1:8080 CLICKCLACK_TOKEN=ccb_... \
//!   cargo run -p clickclack-sdk --example echo_bot
//! ```
//!
//! Optional: `CLICKCLACK_WORKSPACE_ID` (default: the token's workspace),
//! `CLICKCLACK_CURSOR_FILE` (default `.clickclack-cursor`), `RUST_LOG`
//! (default `info`).

use anyhow::Context as _;
use clickclack_sdk::{Bot, Client, DEFAULT_CURSOR_FILE, FileCursorStore, echo};
use tracing_subscriber::EnvFilter;

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("set {name}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();

    let client = Client::new(&env("CLICKCLACK_URL")?, env("CLICKCLACK_TOKEN")?)?;
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
