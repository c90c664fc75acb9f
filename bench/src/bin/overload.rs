//! `overload`: N concurrent clients, each with its own connection, read
//! `GET /api/channels/{id}/messages` as fast as they can for a while; prints
//! one JSON object: how many requests got which status, latency percentiles
//! of the answered ones, and (with `--pid`) the gateway process's resident
//! memory before, at the peak and some time after the burst.
//!
//! ```sh
//! cargo run --release -p clickclack-bench --bin overload -- \
//!   --url http://127.0.0.1:8080 --token "$TOKEN" --channel chn_... \
//!   --clients 1000 --seconds 10 --pid "$(pgrep -f 'clickclack dev')"
//! ```
//! Requests go only to `--url` (keep it on this machine); the run ends by
//! itself after `--seconds` plus the settle time.

use clap::Parser;
use clickclack_bench::{percentile_ms, rss_kib};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Gateway base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A bot token with messages:read (use a gateway whose read limit is
    /// off or high, or the run measures the rate limiter).
    #[arg(long, env = "CLICKCLACK_TOKEN")]
    token: String,
    /// The channel to read.
    #[arg(long, env = "CLICKCLACK_CHANNEL_ID")]
    channel: String,
    /// Concurrent clients, one connection each.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// How long the burst lasts.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The gateway's process id, to sample its resident memory.
    #[arg(long)]
    pid: Option<u32>,
    /// How long to wait after the burst before the last memory sample.
    #[arg(long, default_value_t = 10)]
    settle_seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let endpoint = format!(
        "{}/api/channels/{}/messages?limit=20",
        args.url.trim_end_matches('/'),
        args.channel
    );
    let before = args.pid.and_then(rss_kib);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let statuses = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let answered = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let mut clients = Vec::new();
    for _ in 0..args.clients {
        // One connection per client, as separate bots would have.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()?;
        let (endpoint, token) = (endpoint.clone(), args.token.clone());
        let (statuses, answered) = (statuses.clone(), answered.clone());
        clients.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let started = Instant::now();
                let outcome = http.get(&endpoint).bearer_auth(&token).send().await;
                let took = started.elapsed();
                let key = match outcome {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.bytes().await;
                        if status == 200 {
                            answered.lock().unwrap().push(took);
                        }
                        if status == 503 || status == 429 {
                            // Shed or limited: back off a little, as a client
                            // honouring Retry-After would.
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        status.to_string()
                    }
                    Err(_) => "transport_error".to_owned(),
                };
                *statuses.lock().unwrap().entry(key).or_default() += 1;
            }
        }));
    }
    let mut peak = before;
    let sampler_pid = args.pid;
    let sampler = tokio::spawn(async move {
        let mut peak = None;
        while Instant::now() < deadline {
            peak = peak.max(sampler_pid.and_then(rss_kib));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        peak
    });
    for client in clients {
        client.await?;
    }
    peak = peak.max(sampler.await?);
    let end_of_burst = args.pid.and_then(rss_kib);
    tokio::time::sleep(Duration::from_secs(args.settle_seconds)).await;
    let after = args.pid.and_then(rss_kib);

    let mut latencies = answered.lock().unwrap().clone();
    latencies.sort();
    let total: u64 = statuses.lock().unwrap().values().sum();
    println!(
        "{}",
        json!({
            "bench": "overload",
            "clients": args.clients,
            "seconds": args.seconds,
            "requests": total,
            "answered_ok": latencies.len(),
            "answered_ok_per_second": latencies.len() as f64 / args.seconds as f64,
            "statuses": *statuses.lock().unwrap(),
            "ok_latency_ms": {
                "p50": percentile_ms(&latencies, 0.50),
                "p99": percentile_ms(&latencies, 0.99),
                "max": percentile_ms(&latencies, 1.0),
            },
            "rss_kib": {
                "before": before,
                "peak": peak,
                "end_of_burst": end_of_burst,
                "after_settle": after,
                "settle_seconds": args.settle_seconds,
            },
        })
    );
    Ok(())
}
