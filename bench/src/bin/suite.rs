//! `suite`: the whole performance comparison in one go, on a fresh
//! database, printed as one JSON object (progress goes to stderr).
//!
//! ```sh
//! scripts/bench            # builds in release, then runs this
//! ```
//! It measures raw Postgres inserts (pgbench, else its own threads), then
//! starts `clickclack dev` (the release binary next to this one) on the
//! fresh database with rate limits off and measures: posts/s and latency
//! for 8 and 64 writers in one channel and 64 over 16 channels; frames/s
//! delivered to M listening sockets under the 64-writer load; delivery
//! latency at a steady offered rate; resident memory per idle socket at N
//! sockets and after they close; Postgres connections held.
//! A benchmark, not a test: nothing asserts on its timings.

use anyhow::Context;
use clap::Parser;
use clickclack_bench::load::{self, Outcome, Target};
use clickclack_bench::sockets::{self, Heard, Listeners};
use clickclack_bench::stack::{self, BenchStack, FreshDatabase};
use clickclack_bench::{latency_summary, raw, round2, rss_kib};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// A Postgres URL whose server gets the fresh database.
    #[arg(
        long,
        env = "CLICKCLACK_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// The `clickclack` binary to run (default: the one beside this binary).
    #[arg(long)]
    clickclack: Option<PathBuf>,
    /// Length of each load phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Sockets listening during the fan-out phases.
    #[arg(long, default_value_t = 100)]
    listeners: usize,
    /// Offered posts per second in the steady delivery phase (round robin
    /// over the 16 channels).
    #[arg(long, default_value_t = 500)]
    steady_rate: u32,
    /// Idle sockets opened for the memory measurement.
    #[arg(long, default_value_t = 5000)]
    idle_sockets: usize,
    /// Measure raw inserts for one second only (a quick look at the rest).
    #[arg(long)]
    skip_raw: bool,
    /// How long after the idle sockets close memory is measured again.
    #[arg(long, default_value_t = 60)]
    settle_seconds: u64,
}

fn progress(what: &str) {
    eprintln!("[bench] {what}");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let clickclack = match args.clickclack.clone() {
        Some(path) => path,
        None => std::env::current_exe()?
            .parent()
            .context("the bench binary's directory")?
            .join("clickclack"),
    };
    let phase = Duration::from_secs(args.seconds);
    let database = FreshDatabase::create(&args.database_url)?;
    progress(&format!("fresh database {}", database.name));

    progress("raw inserts, 8 and 64 clients");
    let raw_seconds = if args.skip_raw { 1 } else { args.seconds };
    let raw_8 = raw::inserts_per_second(&database.url, 8, raw_seconds)?;
    let raw_64 = raw::inserts_per_second(&database.url, 64, raw_seconds)?;
    let raw_best = raw_8["inserts_per_second"]
        .as_f64()
        .unwrap_or(0.0)
        .max(raw_64["inserts_per_second"].as_f64().unwrap_or(0.0));

    progress("starting clickclack dev");
    let stack = BenchStack::start(&clickclack, &database.url).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let connections_idle = database.connections()?;
    let token: Arc<str> = stack.bot_token()?.into();
    let client = reqwest::Client::new();
    let (workspace, channels) = stack::channels(&client, &stack.http_url, &token, 16).await?;
    let target = Target {
        client: client.clone(),
        url: stack.http_url.clone(),
        token: token.clone(),
    };

    let pid = stack.pid();
    progress("posting: 8 writers, one channel");
    let cpu = CpuMeter::start(pid);
    let one_8 = load::closed_loop(&target, &channels[..1], 8, phase).await?;
    let one_8_cpu = cpu.per_post(&one_8);
    progress("posting: 64 writers, one channel");
    let cpu = CpuMeter::start(pid);
    let one_64 = load::closed_loop(&target, &channels[..1], 64, phase).await?;
    let one_64_cpu = cpu.per_post(&one_64);
    progress("posting: 64 writers, 16 channels");
    let cpu = CpuMeter::start(pid);
    let spread_64 = load::closed_loop(&target, &channels, 64, phase).await?;
    let spread_64_cpu = cpu.per_post(&spread_64);

    progress("fan-out under the 64-writer load");
    let tail = tail_cursor(&target, &workspace).await?;
    let listeners =
        Listeners::open(&stack.http_url, &token, &workspace, &tail, args.listeners).await?;
    let loaded = load::closed_loop(&target, &channels, 64, phase).await?;
    let loaded_end = Instant::now();
    let heard = drain(listeners, &loaded, Duration::from_secs(15)).await;
    let fanout_under_load = fanout_report(&loaded, &heard, Some(loaded_end));

    progress("steady delivery");
    let tail = tail_cursor(&target, &workspace).await?;
    let listeners =
        Listeners::open(&stack.http_url, &token, &workspace, &tail, args.listeners).await?;
    let steady = load::steady(&target, &channels, args.steady_rate, phase).await?;
    let heard = drain(listeners, &steady, Duration::from_secs(15)).await;
    let steady_delivery = fanout_report(&steady, &heard, None);

    progress("idle sockets");
    let connections_after_load = database.connections()?;
    let tail = tail_cursor(&target, &workspace).await?;
    let rss_before = rss_kib(pid).unwrap_or(0);
    let idle = sockets::open_idle(
        &stack.http_url,
        &token,
        &workspace,
        &tail,
        args.idle_sockets,
        100,
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_open = rss_kib(pid).unwrap_or(0);
    sockets::close_all(idle, 200).await;
    progress(&format!(
        "waiting {} s after the idle sockets closed",
        args.settle_seconds
    ));
    tokio::time::sleep(Duration::from_secs(args.settle_seconds)).await;
    let rss_after = rss_kib(pid).unwrap_or(0);
    let connections_end = database.connections()?;
    drop(stack);

    let spread_rate = spread_64.posts_per_second();
    println!(
        "{}",
        json!({
            "benchmark": "suite",
            "phase_seconds": args.seconds,
            "raw_inserts": { "clients_8": raw_8, "clients_64": raw_64, "best_per_second": round2(raw_best) },
            "posts": {
                "writers_8_one_channel": with_cpu(one_8.report(8, 1), one_8_cpu),
                "writers_64_one_channel": with_cpu(one_64.report(64, 1), one_64_cpu),
                "writers_64_16_channels": with_cpu(spread_64.report(64, 16), spread_64_cpu),
                "writers_64_16_channels_vs_raw": round2(spread_rate / raw_best.max(1.0) * 100.0) / 100.0,
            },
            "fanout_under_load": fanout_under_load,
            "steady_delivery": steady_delivery,
            "idle_sockets": {
                "sockets": args.idle_sockets,
                "rss_kib_before": rss_before,
                "rss_kib_open": rss_open,
                "kib_per_socket": round2((rss_open.saturating_sub(rss_before)) as f64 / args.idle_sockets.max(1) as f64),
                "rss_kib_after_close": rss_after,
                "after_close_vs_before": round2(rss_after as f64 / rss_before.max(1) as f64),
                "settle_seconds": args.settle_seconds,
            },
            "postgres_connections": {
                "idle_stack": connections_idle,
                "after_load": connections_after_load,
                "end": connections_end,
            },
        })
    );
    Ok(())
}

/// CPU used during a phase by the stack and by Postgres.
struct CpuMeter {
    pid: u32,
    stack: u64,
    postgres: u64,
    bench: u64,
}

impl CpuMeter {
    fn start(pid: u32) -> CpuMeter {
        CpuMeter {
            pid,
            stack: clickclack_bench::cpu_ticks(pid),
            postgres: clickclack_bench::cpu_ticks_named("postgres"),
            bench: clickclack_bench::cpu_ticks(std::process::id()),
        }
    }

    /// CPU milliseconds per accepted post: the stack, Postgres, this bench.
    fn per_post(&self, outcome: &Outcome) -> Value {
        let posts = outcome.posted.len().max(1) as f64;
        // Clock ticks are 10 ms on Linux.
        let ms = |ticks: u64| round2(ticks as f64 * 10.0 / posts);
        json!({
            "stack": ms(clickclack_bench::cpu_ticks(self.pid).saturating_sub(self.stack)),
            "postgres": ms(clickclack_bench::cpu_ticks_named("postgres").saturating_sub(self.postgres)),
            "bench": ms(clickclack_bench::cpu_ticks(std::process::id()).saturating_sub(self.bench)),
        })
    }
}

fn with_cpu(mut report: Value, cpu: Value) -> Value {
    report["cpu_ms_per_post"] = cpu;
    report
}

/// The newest cursor of the workspace once the log has stopped growing
/// (events of an earlier phase may still be on their way), so listeners
/// start live and hear only the coming phase.
async fn tail_cursor(target: &Target, workspace: &str) -> anyhow::Result<String> {
    let mut last = None;
    loop {
        let reply = stack::get_json(
            &target.client,
            &format!(
                "{}/api/realtime/events?workspace_id={workspace}&limit=1&include_tail=true",
                target.url
            ),
            &target.token,
        )
        .await?;
        let tail = reply["tail_cursor"].as_str().unwrap_or_default().to_owned();
        if last.as_ref() == Some(&tail) {
            return Ok(tail);
        }
        last = Some(tail);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until every listener heard every post (or `within` passes), then
/// stops them.
async fn drain(listeners: Listeners, outcome: &Outcome, within: Duration) -> Vec<Heard> {
    let expected = outcome.posted.len() * listeners.len();
    let deadline = Instant::now() + within;
    while Instant::now() < deadline && !listeners.heard_at_least(expected) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    listeners.stop().await
}

/// Delivery figures: frames expected and received, frames per second while
/// posting (arrivals up to `window_end`), latency from send and from the
/// HTTP answer, and how any socket ended early.
fn fanout_report(outcome: &Outcome, heard: &[Heard], window_end: Option<Instant>) -> Value {
    let posts: HashMap<&str, &load::Posted> = outcome
        .posted
        .iter()
        .map(|p| (p.message_id.as_str(), p))
        .collect();
    let started = outcome.posted.iter().map(|p| p.sent).min();
    let mut from_send = Vec::new();
    let mut after_answer = Vec::new();
    let mut in_window = 0u64;
    let mut before_answer = 0u64;
    for (id, at) in heard.iter().flat_map(|h| h.arrivals.iter()) {
        let Some(post) = posts.get(id.as_str()) else {
            continue;
        };
        from_send.push(at.saturating_duration_since(post.sent));
        match at.checked_duration_since(post.answered) {
            Some(delay) => after_answer.push(delay),
            None => before_answer += 1,
        }
        if window_end.is_some_and(|end| *at <= end) {
            in_window += 1;
        }
    }
    let expected = outcome.posted.len() * heard.len();
    let received = from_send.len();
    // Per socket: frames of this phase's posts, and repeats among them.
    let mut duplicated = 0;
    let mut per_socket = Vec::with_capacity(heard.len());
    for socket in heard {
        let mut seen = std::collections::HashSet::new();
        for (id, _) in &socket.arrivals {
            if posts.contains_key(id.as_str()) && !seen.insert(id.as_str()) {
                duplicated += 1;
            }
        }
        per_socket.push(seen.len());
    }
    let fewest = per_socket.iter().min().copied().unwrap_or(0);
    let mut report = json!({
        "sockets": heard.len(),
        "posts": outcome.posted.len(),
        "failed": outcome.failed_by_reason(),
        "posts_per_second": round2(outcome.posts_per_second()),
        "post_latency_ms": latency_summary(outcome.posted.iter().map(|p| p.answered - p.sent).collect()),
        "frames_expected": expected,
        "frames_received": received,
        "frames_lost": expected.saturating_sub(received - duplicated),
        "frames_duplicated": duplicated,
        "fewest_posts_heard_by_one_socket": fewest,
        "frames_before_post_answer": before_answer,
        "delivery_ms_from_send": latency_summary(from_send),
        "delivery_ms_after_answer": latency_summary(after_answer),
        "sockets_ended_early": sockets::endings(heard),
    });
    if let (Some(end), Some(start)) = (window_end, started) {
        report["frames_per_second_while_posting"] =
            json!(round2(in_window as f64 / (end - start).as_secs_f64()));
    }
    report
}
