//! Receives a bot's event-subscription deliveries: checks each signature,
//! answers at once, and handles each event once however often it arrives.
//!
//! ```sh
//! CLICKCLACK_WEBHOOK_SECRET=whsec_... LISTEN=127.0.0.1:9000 \
//!   cargo run -p clickclack-sdk --example webhook_receiver
//! # then, as the operator:
//! clickclack admin bot webhook create --workspace default --bot @ci \
//!   --url http://127.0.0.1:9000/hook --events message.created
//! ```
//!
//! While a secret is being rotated give both, comma-separated: the old one
//! keeps verifying until the overlap ends. A bad or stale signature gets
//! 401 and the sender retries; a 2xx tells ClickClack it was delivered.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use clickclack_sdk::webhook::{DEFAULT_TOLERANCE, verify_webhook};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The last event ids seen: a retry of one of them is acknowledged and not
/// handled again.
const REMEMBERED: usize = 10_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secrets: Vec<String> = std::env::var("CLICKCLACK_WEBHOOK_SECRET")
        .map_err(|_| anyhow::anyhow!("set CLICKCLACK_WEBHOOK_SECRET (whsec_...)"))?
        .split(',')
        .map(|secret| secret.trim().to_owned())
        .collect();
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:9000".into());
    let seen = Arc::new(Mutex::new(VecDeque::<String>::new()));
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let (secrets, seen) = (secrets.clone(), seen.clone());
            async move {
                let pairs: Vec<(&str, &str)> = headers
                    .iter()
                    .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
                    .collect();
                let keys: Vec<&str> = secrets.iter().map(String::as_str).collect();
                let delivery = match verify_webhook(&keys, &pairs, &body, DEFAULT_TOLERANCE) {
                    Ok(delivery) => delivery,
                    Err(error) => {
                        eprintln!("refused a delivery: {error}");
                        return StatusCode::UNAUTHORIZED;
                    }
                };
                let mut seen = seen.lock().expect("seen ids");
                if seen.contains(&delivery.id) {
                    return StatusCode::OK;
                }
                if seen.len() == REMEMBERED {
                    seen.pop_front();
                }
                seen.push_back(delivery.id.clone());
                // Answer fast; do slow work elsewhere (ClickClack waits 10 s).
                println!(
                    "{} {} cursor={}",
                    delivery.event["type"].as_str().unwrap_or("?"),
                    delivery.id,
                    delivery.event["cursor"].as_str().unwrap_or("")
                );
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("listening on http://{listen}/hook");
    axum::serve(listener, app).await?;
    Ok(())
}
