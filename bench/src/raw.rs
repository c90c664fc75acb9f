//! The yardstick: how many single-row inserts per second this Postgres takes
//! into a message-shaped table with a unique nonce.

use anyhow::{Context, bail};
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

const TABLE: &str = "CREATE TABLE IF NOT EXISTS raw_messages (
    id bigserial PRIMARY KEY,
    channel_id text NOT NULL,
    author_id text NOT NULL,
    body text NOT NULL,
    nonce text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now())";

const INSERT: &str = "INSERT INTO raw_messages (channel_id, author_id, body, nonce) \
    VALUES ('chn_bench', 'usr_bench', 'a message-sized body of text', \
    md5(random()::text || clock_timestamp()::text));";

/// Inserts per second with `clients` concurrent connections for `seconds`:
/// through `pgbench` when it is installed, else through our own threads.
pub fn inserts_per_second(
    database_url: &str,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<Value> {
    let mut conn = PgConnection::establish(database_url)?;
    diesel::sql_query(TABLE).execute(&mut conn)?;
    match pgbench(database_url, clients, seconds) {
        Ok(rate) => {
            Ok(json!({ "tool": "pgbench", "clients": clients, "inserts_per_second": rate }))
        }
        Err(error) => {
            eprintln!("pgbench unavailable ({error:#}); using the bench's own inserts");
            let rate = own_inserts(database_url, clients, seconds)?;
            Ok(json!({ "tool": "threads", "clients": clients, "inserts_per_second": rate }))
        }
    }
}

fn pgbench(database_url: &str, clients: usize, seconds: u64) -> anyhow::Result<f64> {
    let script = std::env::temp_dir().join(format!("clickclack-bench-{}.sql", std::process::id()));
    std::fs::write(&script, INSERT)?;
    let output = Command::new("pgbench")
        .args(["-n", "-f"])
        .arg(&script)
        .args([
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
        ])
        .arg(database_url)
        .output();
    let _ = std::fs::remove_file(&script);
    let output = output.context("run pgbench")?;
    if !output.status.success() {
        bail!(
            "pgbench failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.trim().strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .context("no tps line in pgbench's output")
}

fn own_inserts(database_url: &str, clients: usize, seconds: u64) -> anyhow::Result<f64> {
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let url = database_url.to_owned();
            std::thread::spawn(move || -> anyhow::Result<u64> {
                let mut conn = PgConnection::establish(&url)?;
                let mut done = 0;
                while Instant::now() < until {
                    diesel::sql_query(INSERT).execute(&mut conn)?;
                    done += 1;
                }
                Ok(done)
            })
        })
        .collect();
    let mut total = 0;
    for thread in threads {
        total += thread
            .join()
            .map_err(|_| anyhow::anyhow!("insert thread panicked"))??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}
