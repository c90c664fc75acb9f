//! `webhooks`: how fast event subscriptions deliver. Starts `clickclack
//! dev` on a fresh database and a receiver on a loopback port (HTTP/1.1,
//! keep-alive, answers 200 at once), then:
//!
//! 1. throughput: `--subscriptions` subscriptions (100) to the receiver,
//!    `--posts` messages (300) posted as fast as 16 writers go; deliveries
//!    per second from the first post to the last delivery received;
//! 2. latency: one subscription, posts at a steady `--rate` (200/s) for
//!    `--seconds` (10); time from sending the post to the receiver reading
//!    its delivery, p50/p90/p99.
//!
//! Prints one JSON object (progress on stderr).
//!
//! ```sh
//! cargo build --release -p clickclack-cli -p clickclack-bench
//! target/release/webhooks
//! ```

use anyhow::{Context, bail};
use clap::Parser;
use clickclack_bench::load::{self, Target};
use clickclack_bench::stack::{self, BenchStack, FreshDatabase};
use clickclack_bench::{latency_summary, round2};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Parser)]
struct Args {
    /// The `clickclack` binary (default: the release one beside this one).
    #[arg(long)]
    clickclack: Option<PathBuf>,
    /// A Postgres URL whose server gets the fresh database.
    #[arg(
        long,
        env = "CLICKCLACK_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    #[arg(long, default_value_t = 100)]
    subscriptions: usize,
    #[arg(long, default_value_t = 300)]
    posts: usize,
    #[arg(long, default_value_t = 200)]
    rate: u32,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// Every delivery the receiver read: (message id, when).
type Heard = Arc<Mutex<Vec<(String, Instant)>>>;

fn progress(text: &str) {
    eprintln!("webhooks bench: {text}");
}

/// A receiver that keeps connections open and answers 200 at once.
async fn receiver() -> anyhow::Result<(String, Heard)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let heard: Heard = Arc::default();
    let log = heard.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0usize;
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let at = Instant::now();
                    if let Ok(delivery) = serde_json::from_slice::<Value>(&body)
                        && let Some(id) = delivery["event"]["payload"]["message_id"].as_str()
                    {
                        log.lock().expect("log").push((id.to_owned(), at));
                    }
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                    if reader.get_mut().write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok((url, heard))
}

async fn subscribe(target: &Target, workspace: &str, url: &str) -> anyhow::Result<String> {
    let response = target
        .client
        .post(format!(
            "{}/api/workspaces/{workspace}/event-subscriptions",
            target.url
        ))
        .bearer_auth(&*target.token)
        .json(&json!({ "event_types": ["message.created"], "callback_url": url }))
        .send()
        .await?;
    if response.status() != 201 {
        bail!(
            "subscribe answered {}: {}",
            response.status(),
            response.text().await?
        );
    }
    let created: Value = response.json().await?;
    Ok(created["event_subscription"]["id"]
        .as_str()
        .context("an id")?
        .to_owned())
}

async fn revoke(target: &Target, id: &str) -> anyhow::Result<()> {
    let response = target
        .client
        .post(format!(
            "{}/api/event-subscriptions/{id}/revoke",
            target.url
        ))
        .bearer_auth(&*target.token)
        .json(&json!({}))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("revoke answered {}", response.status());
    }
    Ok(())
}

/// Waits until `heard` holds `count` deliveries (or `within` passes).
async fn wait_for(heard: &Heard, count: usize, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let got = heard.lock().expect("log").len();
        if got >= count || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let clickclack = match args.clickclack {
        Some(path) => path,
        None => std::env::current_exe()?
            .parent()
            .context("this binary's directory")?
            .join("clickclack"),
    };
    let database = FreshDatabase::create(&args.database_url)?;
    let mut running = BenchStack::start(&clickclack, &database.url).await?;
    let outcome = run(
        &running,
        args.subscriptions,
        args.posts,
        args.rate,
        args.seconds,
    )
    .await;
    running.stop();
    println!("{}", serde_json::to_string_pretty(&outcome?)?);
    Ok(())
}

async fn run(
    running: &BenchStack,
    subscriptions: usize,
    posts: usize,
    rate: u32,
    seconds: u64,
) -> anyhow::Result<Value> {
    let token = running.bot_token_with("hooks", "bot:admin,event_subscriptions:write")?;
    let client = reqwest::Client::new();
    let (workspace, channels) = stack::channels(&client, &running.http_url, &token, 1).await?;
    let target = Target {
        client,
        url: running.http_url.clone(),
        token: token.into(),
    };
    let (url, heard) = receiver().await?;

    progress(&format!(
        "throughput: {subscriptions} subscriptions, {posts} posts"
    ));
    let mut ids = Vec::with_capacity(subscriptions);
    for _ in 0..subscriptions {
        ids.push(subscribe(&target, &workspace, &url).await?);
    }
    let expected = subscriptions * posts;
    let started = Instant::now();
    let writers: Vec<_> = (0..16)
        .map(|writer| {
            let (target, channel) = (target.clone(), channels[0].clone());
            tokio::spawn(async move {
                let mut sent = 0;
                for n in (writer..posts).step_by(16) {
                    target.post(&channel, format!("burst {n}")).await?;
                    sent += 1;
                }
                anyhow::Ok(sent)
            })
        })
        .collect();
    let mut posted = 0;
    for writer in writers {
        posted += writer.await.context("writer task")??;
    }
    let got = wait_for(&heard, expected, Duration::from_secs(600)).await;
    let last = heard.lock().expect("log").iter().map(|(_, at)| *at).max();
    let took = last.map_or(started.elapsed(), |at| at - started);
    let throughput = json!({
        "subscriptions": subscriptions,
        "posts": posted,
        "deliveries_expected": expected,
        "deliveries_received": got,
        "seconds": round2(took.as_secs_f64()),
        "deliveries_per_second": round2(got as f64 / took.as_secs_f64()),
    });

    progress(&format!(
        "latency: one subscription, {rate} posts/s for {seconds} s"
    ));
    for id in ids.iter().skip(1) {
        revoke(&target, id).await?;
    }
    // Let deliveries of the burst finish, then measure from a clean log.
    tokio::time::sleep(Duration::from_secs(1)).await;
    heard.lock().expect("log").clear();
    let steady = load::steady(&target, &channels, rate, Duration::from_secs(seconds)).await?;
    let got = wait_for(&heard, steady.posted.len(), Duration::from_secs(60)).await;
    let received: HashMap<String, Instant> = heard.lock().expect("log").iter().cloned().collect();
    let latencies: Vec<Duration> = steady
        .posted
        .iter()
        .filter_map(|post| {
            received
                .get(&post.message_id)
                .map(|at| at.saturating_duration_since(post.sent))
        })
        .collect();
    // What one subscription sustained: deliveries from the first post to
    // the last receipt (below the posting rate, the backlog grows).
    let first_post = steady.posted.iter().map(|post| post.sent).min();
    let last_receipt = received.values().max().copied();
    let sustained = match (first_post, last_receipt) {
        (Some(first), Some(last)) if last > first => {
            round2(got as f64 / (last - first).as_secs_f64())
        }
        _ => 0.0,
    };
    Ok(json!({
        "bench": "webhooks",
        "throughput": throughput,
        "latency": {
            "rate_per_second": rate,
            "seconds": seconds,
            "posted": steady.posted.len(),
            "failed_posts": steady.failed.len(),
            "delivered": got,
            "deliveries_per_second": sustained,
            "post_to_receipt_ms": latency_summary(latencies),
        },
    }))
}
