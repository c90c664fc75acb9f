//! `fanout`: one stream of posts through the gateway while M WebSockets
//! listen; prints post throughput, post latency and delivery latency (post
//! accepted → frame received) as one JSON object.
//!
//! ```sh
//! cargo run --release -p clickclack-bench --bin fanout -- --url http://127.0.0.1:8080 \
//!   --token "$TOKEN" --workspace wsp_... --channel chn_... --sockets 100 --posts 500
//! ```
//! Everything goes to `--url` only (keep it on this machine); the run ends
//! after `--posts` posts and a bounded wait for their frames.

use anyhow::{Context, bail};
use clap::Parser;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A bot token with messages:write and realtime:read.
    #[arg(long, env = "CLICKCLACK_TOKEN")]
    token: String,
    #[arg(long)]
    workspace: String,
    #[arg(long, env = "CLICKCLACK_CHANNEL_ID")]
    channel: String,
    /// Listening WebSockets.
    #[arg(long, default_value_t = 100)]
    sockets: usize,
    /// Posts, sent one after another as fast as the stack accepts them.
    #[arg(long, default_value_t = 500)]
    posts: usize,
    /// How long to wait for the last frames after the last post.
    #[arg(long, default_value_t = 30)]
    drain_seconds: u64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    clickclack_bench::percentile(sorted, p).unwrap_or(0.0)
}

fn summary(mut values: Vec<f64>) -> Value {
    values.sort_by(f64::total_cmp);
    json!({
        "p50": percentile(&values, 0.50),
        "p99": percentile(&values, 0.99),
        "max": percentile(&values, 1.0),
    })
}

/// message id → when its post was accepted.
type Accepted = Arc<Mutex<HashMap<String, Instant>>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let base = args.url.trim_end_matches('/').to_owned();
    let ws_url = format!(
        "{}/api/realtime/ws?workspace_id={}",
        base.replacen("http", "ws", 1),
        args.workspace
    );

    // Frames received per message id, with their arrival time.
    let arrivals: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let mut listeners = Vec::new();
    for _ in 0..args.sockets {
        let mut request = ws_url.clone().into_client_request()?;
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {}", args.token).parse()?);
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .context("open a WebSocket")?;
        let arrivals = arrivals.clone();
        listeners.push(tokio::spawn(async move {
            while let Some(Ok(frame)) = socket.next().await {
                if let Message::Text(text) = frame {
                    let now = Instant::now();
                    let event: Value = serde_json::from_str(&text).unwrap_or_default();
                    if event["type"] == "message.created"
                        && let Some(id) = event["payload"]["message_id"].as_str()
                    {
                        arrivals.lock().unwrap().push((id.to_owned(), now));
                    }
                }
            }
        }));
    }

    let client = reqwest::Client::new();
    let endpoint = format!("{base}/api/channels/{}/messages", args.channel);
    let accepted: Accepted = Arc::default();
    let mut post_latencies = Vec::with_capacity(args.posts);
    let started = Instant::now();
    for n in 0..args.posts {
        let sent = Instant::now();
        let response = client
            .post(&endpoint)
            .bearer_auth(&args.token)
            .json(&json!({ "body": format!("fanout post {n}") }))
            .send()
            .await?;
        if response.status() != 201 {
            bail!("post answered {}", response.status());
        }
        let body: Value = response.json().await?;
        let done = Instant::now();
        post_latencies.push((done - sent).as_secs_f64() * 1000.0);
        let id = body["message"]["id"]
            .as_str()
            .context("message id")?
            .to_owned();
        accepted.lock().unwrap().insert(id, done);
    }
    let posting = started.elapsed();

    let expected = args.posts * args.sockets;
    let deadline = Instant::now() + Duration::from_secs(args.drain_seconds);
    while arrivals.lock().unwrap().len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for listener in &listeners {
        listener.abort();
    }

    let accepted = accepted.lock().unwrap();
    let arrivals = arrivals.lock().unwrap();
    let mut early = 0;
    let delivery: Vec<f64> = arrivals
        .iter()
        .filter_map(|(id, at)| accepted.get(id).map(|posted| (posted, at)))
        .map(|(posted, at)| match at.checked_duration_since(*posted) {
            Some(delay) => delay.as_secs_f64() * 1000.0,
            // The frame beat the HTTP answer to the client.
            None => {
                early += 1;
                0.0
            }
        })
        .collect();
    println!(
        "{}",
        json!({
            "benchmark": "fanout",
            "sockets": args.sockets,
            "posts": args.posts,
            "post_seconds": posting.as_secs_f64(),
            "posts_per_second": args.posts as f64 / posting.as_secs_f64(),
            "post_latency_ms": summary(post_latencies),
            "frames_expected": expected,
            "frames_received": delivery.len(),
            "frames_before_post_answer": early,
            "delivery_latency_ms": summary(delivery),
        })
    );
    Ok(())
}
