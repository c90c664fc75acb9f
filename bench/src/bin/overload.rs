//! `overload`: N concurrent clients, each with its own connection, hit the
//! gateway as fast as they can for a while: most read
//! `GET /api/channels/{id}/messages`, a `--write-share` of them post to the
//! channel. Prints one JSON object: how many requests got which status,
//! latency percentiles of the answered ones (reads and writes apart), and
//! (with `--pid`, or when it started the stack) the gateway process's
//! resident memory before, at the peak and some time after the burst.
//!
//! ```sh
//! # against a stack it starts itself (release `clickclack` beside it):
//! cargo run --release -p clickclack-bench --bin overload -- --start \
//!   --clients 1000 --seconds 10 --write-share 0.3
//! # against a stack you started (rate limits off):
//! cargo run --release -p clickclack-bench --bin overload -- \
//!   --url http://127.0.0.1:8080 --token "$TOKEN" --channel chn_... \
//!   --clients 1000 --seconds 10 --pid "$(pgrep -f 'clickclack dev')"
//! ```
//! Requests go only to the gateway on this machine; the run ends by itself
//! after `--seconds` plus the settle time.

use anyhow::Context;
use clap::Parser;
use clickclack_bench::stack::{self, BenchStack, FreshDatabase};
use clickclack_bench::{percentile_ms, rss_kib};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Start `clickclack dev` (the release binary beside this one, or
    /// `--clickclack`) on a fresh database instead of using `--url`.
    #[arg(long)]
    start: bool,
    /// With `--start`: the `clickclack` binary.
    #[arg(long)]
    clickclack: Option<PathBuf>,
    /// With `--start`: a Postgres URL whose server gets the fresh database.
    #[arg(
        long,
        env = "CLICKCLACK_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Gateway base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A bot token with messages:read (and messages:write for writers);
    /// use a gateway whose rate limits are off, or the run measures the
    /// rate limiter.
    #[arg(long, env = "CLICKCLACK_TOKEN")]
    token: Option<String>,
    /// The channel to read and post to.
    #[arg(long, env = "CLICKCLACK_CHANNEL_ID")]
    channel: Option<String>,
    /// Concurrent clients, one connection each.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// The share of clients that post instead of reading (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    write_share: f64,
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

/// What every client saw: statuses, and the latency of answered requests.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<String, u64>,
    reads: Vec<Duration>,
    writes: Vec<Duration>,
}

fn latencies(mut values: Vec<Duration>, seconds: u64) -> Value {
    values.sort();
    json!({
        "answered": values.len(),
        "per_second": values.len() as f64 / seconds as f64,
        "p50_ms": percentile_ms(&values, 0.50),
        "p99_ms": percentile_ms(&values, 0.99),
        "max_ms": percentile_ms(&values, 1.0),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Kept alive (and dropped, which stops the stack) at the end.
    let mut started = None;
    let (url, token, channel, pid) = if args.start {
        let clickclack = match &args.clickclack {
            Some(path) => path.clone(),
            None => std::env::current_exe()?
                .parent()
                .context("the binary's folder")?
                .join("clickclack"),
        };
        let database = FreshDatabase::create(&args.database_url)?;
        let stack = BenchStack::start(&clickclack, &database.url).await?;
        let token = stack.bot_token()?;
        let http = reqwest::Client::new();
        let (_, channels) = stack::channels(&http, &stack.http_url, &token, 1).await?;
        let (url, pid) = (stack.http_url.clone(), stack.pid());
        started = Some((stack, database));
        (url, token, channels[0].clone(), Some(pid))
    } else {
        (
            args.url.clone(),
            args.token.clone().context("--token (or --start)")?,
            args.channel.clone().context("--channel (or --start)")?,
            args.pid,
        )
    };
    let endpoint = format!(
        "{}/api/channels/{channel}/messages",
        url.trim_end_matches('/')
    );
    let writers = (args.clients as f64 * args.write_share.clamp(0.0, 1.0)).round() as usize;
    let before = pid.and_then(rss_kib);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut clients = Vec::new();
    for client_number in 0..args.clients {
        // One connection per client, as separate bots would have.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()?;
        let (endpoint, token, tally) = (endpoint.clone(), token.clone(), tally.clone());
        let writes = client_number < writers;
        clients.push(tokio::spawn(async move {
            let mut sent = 0_u64;
            while Instant::now() < deadline {
                let started = Instant::now();
                let request = if writes {
                    sent += 1;
                    http.post(&endpoint).json(&json!({
                        "body": format!("overload {client_number}/{sent}"),
                        "nonce": format!("ovl-{client_number}-{sent}"),
                    }))
                } else {
                    http.get(format!("{endpoint}?limit=20"))
                };
                let outcome = request.bearer_auth(&token).send().await;
                let took = started.elapsed();
                let key = match outcome {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.bytes().await;
                        if response_ok(status) {
                            let mut tally = tally.lock().unwrap();
                            if writes {
                                tally.writes.push(took);
                            } else {
                                tally.reads.push(took);
                            }
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
                *tally.lock().unwrap().statuses.entry(key).or_default() += 1;
            }
        }));
    }
    let sampler = tokio::spawn(async move {
        let mut peak = None;
        while Instant::now() < deadline {
            peak = peak.max(pid.and_then(rss_kib));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        peak
    });
    for client in clients {
        client.await?;
    }
    let peak = before.max(sampler.await?);
    let end_of_burst = pid.and_then(rss_kib);
    tokio::time::sleep(Duration::from_secs(args.settle_seconds)).await;
    let after = pid.and_then(rss_kib);

    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let total: u64 = tally.statuses.values().sum();
    let mut all = tally.reads.clone();
    all.extend(&tally.writes);
    println!(
        "{}",
        json!({
            "bench": "overload",
            "clients": args.clients,
            "writers": writers,
            "seconds": args.seconds,
            "requests": total,
            "statuses": tally.statuses,
            "ok": latencies(all, args.seconds),
            "reads_ok": latencies(tally.reads, args.seconds),
            "writes_ok": latencies(tally.writes, args.seconds),
            "rss_kib": {
                "before": before,
                "peak": peak,
                "end_of_burst": end_of_burst,
                "after_settle": after,
                "settle_seconds": args.settle_seconds,
            },
        })
    );
    drop(started);
    Ok(())
}

fn response_ok(status: u16) -> bool {
    (200..300).contains(&status)
}
