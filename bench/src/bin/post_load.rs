//! `post-load`: posts messages into one channel through the gateway from N
//! concurrent writers and prints throughput and latency as one JSON object.
//!
//! ```sh
//! cargo run --release -p clickclack-bench --bin post-load -- \
//!   --url http://127.0.0.1:8080 --token "$TOKEN" --channel chn_... --writers 8 --posts 200
//! ```
//! Requests go only to `--url` (keep it on this machine), and the run ends
//! after `--writers × --posts` posts.

use anyhow::{Context, bail};
use clap::Parser;
use clickclack_bench::percentile_ms;
use serde_json::json;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Gateway base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A bot token with messages:write.
    #[arg(long, env = "CLICKCLACK_TOKEN")]
    token: String,
    /// The channel to post into.
    #[arg(long, env = "CLICKCLACK_CHANNEL_ID")]
    channel: String,
    /// Concurrent writers.
    #[arg(long, default_value_t = 8)]
    writers: usize,
    /// Posts per writer.
    #[arg(long, default_value_t = 200)]
    posts: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::new();
    let endpoint = format!(
        "{}/api/channels/{}/messages",
        args.url.trim_end_matches('/'),
        args.channel
    );
    let started = Instant::now();
    let mut writers = Vec::new();
    for writer in 0..args.writers {
        let client = client.clone();
        let endpoint = endpoint.clone();
        let token = args.token.clone();
        let posts = args.posts;
        writers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(posts);
            for post in 0..posts {
                let sent = Instant::now();
                let response = client
                    .post(&endpoint)
                    .bearer_auth(&token)
                    .json(&json!({ "body": format!("load writer {writer} post {post}") }))
                    .send()
                    .await?;
                if response.status() != 201 {
                    bail!(
                        "post answered {}: {}",
                        response.status(),
                        response.text().await?
                    );
                }
                latencies.push(sent.elapsed());
            }
            Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for writer in writers {
        latencies.extend(writer.await.context("writer task")??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let total = latencies.len();
    println!(
        "{}",
        json!({
            "benchmark": "post-load",
            "writers": args.writers,
            "posts": total,
            "seconds": elapsed.as_secs_f64(),
            "posts_per_second": total as f64 / elapsed.as_secs_f64(),
            "latency_ms": {
                "p50": percentile_ms(&latencies, 0.50),
                "p99": percentile_ms(&latencies, 0.99),
                "max": percentile_ms(&latencies, 1.0),
            },
        })
    );
    Ok(())
}
