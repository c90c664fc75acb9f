//! Posting load: closed-loop writers (each posts again as soon as it is
//! answered) and an open-loop steady rate.

use crate::{latency_summary, round2};
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One accepted post: its message id, when it was sent and answered.
#[derive(Clone)]
pub struct Posted {
    pub message_id: String,
    pub sent: Instant,
    pub answered: Instant,
}

/// Where to post and as whom.
#[derive(Clone)]
pub struct Target {
    pub client: reqwest::Client,
    pub url: String,
    pub token: Arc<str>,
}

impl Target {
    /// Posts one message and returns when it was sent and answered.
    pub async fn post(&self, channel: &str, body: String) -> anyhow::Result<Posted> {
        let sent = Instant::now();
        let response = self
            .client
            .post(format!("{}/api/channels/{channel}/messages", self.url))
            .bearer_auth(&*self.token)
            .json(&json!({ "body": body }))
            .send()
            .await?;
        if response.status() != 201 {
            bail!(
                "post answered {}: {}",
                response.status(),
                response.text().await?
            );
        }
        let answered = Instant::now();
        let reply: Value = response.json().await?;
        let message_id = reply["message"]["id"]
            .as_str()
            .context("a posted message's id")?
            .to_owned();
        Ok(Posted {
            message_id,
            sent,
            answered,
        })
    }
}

/// What a load phase did.
pub struct Outcome {
    pub posted: Vec<Posted>,
    /// Posts that got no 201 (a steady phase keeps offering after them).
    pub failed: Vec<String>,
    pub elapsed: Duration,
}

impl Outcome {
    /// Failed posts counted by their error text.
    pub fn failed_by_reason(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for reason in &self.failed {
            *counts.entry(reason.clone()).or_insert(0) += 1;
        }
        counts
    }

    pub fn posts_per_second(&self) -> f64 {
        self.posted.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// `{writers, channels, posts, posts_per_second, latency_ms}`.
    pub fn report(&self, writers: usize, channels: usize) -> Value {
        json!({
            "writers": writers,
            "channels": channels,
            "posts": self.posted.len(),
            "failed": self.failed_by_reason(),
            "posts_per_second": round2(self.posts_per_second()),
            "latency_ms": latency_summary(
                self.posted.iter().map(|p| p.answered - p.sent).collect()
            ),
        })
    }
}

/// `writers` concurrent writers, writer `n` posting into channel
/// `n % channels.len()`, for `duration`.
pub async fn closed_loop(
    target: &Target,
    channels: &[String],
    writers: usize,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let until = started + duration;
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let target = target.clone();
            let channel = channels[writer % channels.len()].clone();
            tokio::spawn(async move {
                let mut posted = Vec::new();
                while Instant::now() < until {
                    let body = format!("load writer {writer} post {}", posted.len());
                    posted.push(target.post(&channel, body).await?);
                }
                anyhow::Ok(posted)
            })
        })
        .collect();
    let mut posted = Vec::new();
    for task in tasks {
        posted.extend(task.await.context("writer task")??);
    }
    Ok(Outcome {
        posted,
        failed: Vec::new(),
        elapsed: started.elapsed(),
    })
}

/// Posts at a steady `rate` per second, round robin over `channels`, for
/// `duration`, each post on its own task so a slow answer does not slow
/// the offered rate.
pub async fn steady(
    target: &Target,
    channels: &[String],
    rate: u32,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    while started.elapsed() < duration {
        ticks.tick().await;
        let target = target.clone();
        let n = tasks.len();
        let channel = channels[n % channels.len()].clone();
        tasks.push(tokio::spawn(async move {
            target.post(&channel, format!("steady post {n}")).await
        }));
    }
    let elapsed = started.elapsed();
    let mut posted = Vec::with_capacity(tasks.len());
    let mut failed = Vec::new();
    for task in tasks {
        match task.await.context("post task")? {
            Ok(post) => posted.push(post),
            Err(error) => failed.push(error.to_string()),
        }
    }
    Ok(Outcome {
        posted,
        failed,
        elapsed,
    })
}
