//! Runs the built `clickclack` binary against a test stack.
// Each test binary uses only part of this module.
#![allow(dead_code)]

use clickclack_testkit::TestStack;
use std::time::{Duration, Instant};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "command failed: {}", self.stderr);
        serde_json::from_str(&self.stdout).expect("stdout is one JSON document")
    }

    /// Asserts the command failed with exactly one `error:` line on stderr
    /// mentioning `needle`, and printed nothing on stdout.
    pub fn assert_one_line_error(&self, needle: &str) {
        assert_ne!(
            self.code, 0,
            "expected failure, got stdout {:?}",
            self.stdout
        );
        assert_eq!(self.stdout, "", "nothing on stdout when failing");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr, got {:?}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{:?}", lines[0]);
        assert!(
            lines[0].contains(needle),
            "{:?} should mention {needle:?}",
            lines[0]
        );
    }
}

/// Runs `clickclack <args>` against the stack's identity service.
pub async fn clickclack(stack: &TestStack, args: &[&str]) -> Run {
    run(
        &[
            ("CLICKCLACK_IDENTITY_ADDR", &stack.identity_url),
            ("CLICKCLACK_MESSAGING_ADDR", &stack.messaging_url),
            ("CLICKCLACK_WEBHOOKS_ADDR", &stack.webhooks_url),
        ],
        args,
    )
    .await
}

pub async fn clickclack_at(identity_url: &str, messaging_url: &str, args: &[&str]) -> Run {
    run(
        &[
            ("CLICKCLACK_IDENTITY_ADDR", identity_url),
            ("CLICKCLACK_MESSAGING_ADDR", messaging_url),
        ],
        args,
    )
    .await
}

async fn run(addresses: &[(&str, &str)], args: &[&str]) -> Run {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_clickclack"))
        .envs(addresses.iter().copied())
        .env_remove("RUST_LOG")
        .args(args)
        .output()
        .await
        .expect("run the clickclack binary");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    }
}

/// Polls `GET path` with `token` until `accept(status)` holds, failing after
/// `within`. Returns how long it took.
pub async fn wait_for_status(
    stack: &TestStack,
    path: &str,
    token: &str,
    within: Duration,
    accept: impl Fn(u16) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let status = stack.api().get(path, Some(token)).await.status;
        if accept(status) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{path} still answered {status} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
