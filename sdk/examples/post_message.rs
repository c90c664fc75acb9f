//! Posts one message and prints its id.
//!
//! ```sh
//! CLICKCLACK_URL=https://app.clickclack.chat CLICKCLACK_TOKEN=ccb_... \
//! CLICKCLACK_CHANNEL_ID=chn_... CLICKCLACK_TEXT="hello" \
//!   cargo run -p clickclack-sdk --example post_message
//! ```
//!
//! `CLICKCLACK_CA_CERT=/path/ca.pem` trusts a private CA as well as the
//! system's roots. Set `CLICKCLACK_NONCE` to make the post idempotent:
//! running the example again with the same nonce prints the same id and
//! posts nothing new.

use anyhow::Context as _;
use clickclack_sdk::Client;

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("set {name}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // CLICKCLACK_URL, CLICKCLACK_TOKEN and, for a private CA, CLICKCLACK_CA_CERT.
    let client = Client::from_env()?;
    let channel_id = env("CLICKCLACK_CHANNEL_ID")?;
    let text = env("CLICKCLACK_TEXT")?;
    let nonce = std::env::var("CLICKCLACK_NONCE").ok();
    let posted = client
        .post_message(&channel_id, &text, nonce.as_deref())
        .await
        .context("post the message")?;
    println!("{}", posted.message.id);
    Ok(())
}
