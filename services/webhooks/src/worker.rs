//! The delivery worker: claim what is due, send each, and write down what
//! came of it (the queue, the subscription, the log) in one transaction per
//! delivery, which also claims the subscription's next delivery when one
//! is due, so a busy subscription's deliveries follow one another without
//! waiting for the next pass over every subscription.
//!
//! A subscription is read again just before sending, so one revoked or
//! disabled a moment ago sends nothing more, and its URL is checked against
//! today's policy. Its bot's standing is asked of identity for each delivery:
//! a bot whose token could no longer read the event gets nothing. The
//! secrets that sign are the current one and, during a rotation's overlap,
//! the previous one.

use crate::delivery::{Attempt, Outgoing, Sender};
use crate::domain::schedule::{self, Outcome, Verdict};
use crate::domain::sealing::Sealer;
use crate::domain::signing::{SigningSecret, delivery_headers};
use crate::domain::target::TargetPolicy;
use crate::error::WebhooksError;
use crate::standing::{Standing, Standings};
use crate::store::queue::{self, AttemptRow, Claimed, Finish};
use crate::store::subscriptions::{self, SubscriptionRow};
use chrono::{TimeDelta, Utc};
use clickclack_common::db::{self, PgPool};
use clickclack_common::ids;
use clickclack_common::metrics::METRICS;
use diesel::Connection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a claimed delivery is held: well past one attempt's timeout.
pub const LEASE: Duration = Duration::from_secs(60);

/// When a batch put back for want of an answer from identity is tried again.
const IDENTITY_RETRY: TimeDelta = TimeDelta::seconds(5);

/// The longest an idle worker sleeps before looking again, when nothing
/// wakes it sooner (a queued delivery here, or the next retry or lapsed
/// lease coming due).
const IDLE_POLL: Duration = Duration::from_secs(2);

/// Deliveries of one subscription a task sends back to back (each claimed
/// as the previous one is recorded) before it gives its slot back to the
/// claim loop, so a busy subscription cannot keep a slot from the others.
const FOLLOW_ON: u32 = 64;

/// How long a worker told to stop waits for the attempts under way.
const DRAIN: Duration = Duration::from_secs(12);

/// The worker's clock: how long a claim holds, and how the retry schedule
/// is stretched (1.0 in production; tests shrink it).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub lease: Duration,
    pub retry_scale: f64,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            lease: LEASE,
            retry_scale: 1.0,
        }
    }
}

/// Sends what the queue holds.
#[derive(Clone)]
pub struct Worker {
    pool: PgPool,
    sender: Sender,
    sealer: Arc<Sealer>,
    policy: Arc<TargetPolicy>,
    standings: Standings,
    timing: Timing,
}

/// What one delivery came to, for the log and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub subscription_id: String,
    pub event_id: String,
    pub verdict: Verdict,
}

/// A claimed delivery with what it needs to go (or the reason it must not).
struct Ready {
    delivery: Claimed,
    subscription: Option<SubscriptionRow>,
    standing: Standing,
}

impl Worker {
    pub fn new(
        pool: PgPool,
        sender: Sender,
        sealer: impl Into<Arc<Sealer>>,
        policy: TargetPolicy,
        standings: Standings,
    ) -> Worker {
        Worker {
            pool,
            sender,
            sealer: sealer.into(),
            policy: Arc::new(policy),
            standings,
            timing: Timing::default(),
        }
    }

    /// The same worker on another clock.
    pub fn with_timing(mut self, timing: Timing) -> Worker {
        self.timing = timing;
        self
    }

    /// Claims up to `limit` due deliveries (each the head of its
    /// subscription) and sends them side by side.
    pub async fn run_once(&self, limit: i64) -> Result<Vec<Sent>, WebhooksError> {
        let ready = self.claim(limit).await?;
        let sends = ready.into_iter().map(|ready| self.deliver(ready, false));
        let mut sent = Vec::new();
        for outcome in futures_util::future::join_all(sends).await {
            sent.push(outcome?.0);
        }
        Ok(sent)
    }

    /// Sends until `shutdown`: at most `concurrency` attempts at once, each
    /// on its own task, so an endpoint that hangs holds one slot for its
    /// timeout and never the deliveries of anyone else. A task that
    /// finished a delivery goes on with its subscription's next one (up to
    /// [`FOLLOW_ON`]), so a busy subscription is not held to one delivery
    /// per pass of the claim loop. `wake` is notified when something was
    /// queued here.
    pub async fn run(self, concurrency: usize, wake: Arc<Notify>, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(concurrency.max(1)));
        let under_way = TaskTracker::new();
        while !shutdown.is_cancelled() {
            let free = slots.available_permits();
            if free == 0 {
                // Wait for an attempt to end.
                tokio::select! {
                    permit = slots.clone().acquire_owned() => drop(permit),
                    _ = shutdown.cancelled() => break,
                }
                continue;
            }
            match self.claim(free as i64).await {
                Ok(ready) if !ready.is_empty() => {
                    for item in ready {
                        let Ok(slot) = slots.clone().acquire_owned().await else {
                            break;
                        };
                        let (worker, wake, stop) = (self.clone(), wake.clone(), shutdown.clone());
                        under_way.spawn(async move {
                            let _slot = slot;
                            let mut next = Some(item);
                            let mut sent = 0;
                            while let Some(ready) = next.take() {
                                sent += 1;
                                let follow = sent < FOLLOW_ON && !stop.is_cancelled();
                                match worker.deliver(ready, follow).await {
                                    Ok((_, following)) => next = following,
                                    Err(error) => {
                                        tracing::warn!(%error, "webhook worker: an attempt was not recorded");
                                    }
                                }
                            }
                            // The subscription's next delivery may go now.
                            wake.notify_one();
                        });
                    }
                }
                Ok(_) => {
                    // Sleep until the next retry or lapsed lease is due (an
                    // idle service does not poll the database).
                    let pool = self.pool.clone();
                    let next =
                        db::run(&pool, |conn| Ok::<_, WebhooksError>(queue::next_due(conn)?))
                            .await
                            .ok()
                            .flatten();
                    let wait = next
                        .and_then(|at| (at - Utc::now()).to_std().ok())
                        .map_or(IDLE_POLL, |until| until.min(IDLE_POLL));
                    tokio::select! {
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "webhook worker: claiming failed; trying again");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
            }
        }
        // Attempts under way finish (each within its 10 s timeout); one cut
        // off is taken over when its lease runs out.
        under_way.close();
        let _ = tokio::time::timeout(DRAIN, under_way.wait()).await;
    }

    /// Claims due heads and asks identity about their readers. When
    /// identity cannot answer, the batch is put back untouched.
    async fn claim(&self, limit: i64) -> Result<Vec<Ready>, WebhooksError> {
        let lease = self.timing.lease;
        let (claimed, found) = db::run(&self.pool, move |conn| {
            let claimed = queue::claim(conn, limit, lease)?;
            let ids: Vec<String> = claimed.iter().map(|d| d.subscription_id.clone()).collect();
            let found = subscriptions::find_many(conn, &ids)?;
            Ok::<_, WebhooksError>((claimed, found))
        })
        .await?;
        self.with_standings(claimed, found).await
    }

    /// Pairs claimed deliveries with their subscriptions and their readers'
    /// standing. When identity cannot answer, they are put back untouched.
    async fn with_standings(
        &self,
        claimed: Vec<Claimed>,
        found: Vec<SubscriptionRow>,
    ) -> Result<Vec<Ready>, WebhooksError> {
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let readers = found.iter().map(SubscriptionRow::reader).collect();
        let standings = match self.standings.check(readers).await {
            Ok(standings) => standings,
            Err(status) => {
                let due = Utc::now() + IDENTITY_RETRY;
                db::run(&self.pool, move |conn| {
                    conn.transaction(|conn| {
                        claimed
                            .iter()
                            .try_for_each(|delivery| queue::put_back(conn, delivery, due).map(drop))
                    })
                    .map_err(WebhooksError::from)
                })
                .await?;
                return Err(status.into());
            }
        };
        Ok(claimed
            .into_iter()
            .map(|delivery| {
                let subscription = found
                    .iter()
                    .find(|row| row.id == delivery.subscription_id)
                    .cloned();
                let standing = subscription
                    .as_ref()
                    .and_then(|row| standings.get(&row.reader()).cloned())
                    // Nothing goes on a guess.
                    .unwrap_or_else(|| Err("identity gave no standing for this reader".into()));
                Ready {
                    delivery,
                    subscription,
                    standing,
                }
            })
            .collect())
    }

    /// Sends one delivery and records what came of it. With `follow`, once
    /// it is finished (delivered, or failed for good), the subscription's
    /// next due delivery is claimed in the same transaction and answered,
    /// ready to go.
    async fn deliver(
        &self,
        ready: Ready,
        follow: bool,
    ) -> Result<(Sent, Option<Ready>), WebhooksError> {
        let Ready {
            delivery,
            subscription,
            standing,
        } = ready;
        let attempt = match (subscription.as_ref().map(|row| self.prepare(row)), standing) {
            (None, _) => not_sent("the subscription no longer exists".into()),
            (Some(_), Err(why)) => not_sent(format!("not sent: {why}")),
            (Some(Err(why)), Ok(())) => not_sent(why),
            (Some(Ok((url, secrets))), Ok(())) => {
                let timestamp = Utc::now().timestamp();
                let headers = delivery_headers(
                    &secrets,
                    &delivery.event_id,
                    timestamp,
                    delivery.body.as_bytes(),
                );
                self.sender
                    .send(Outgoing {
                        url: &url,
                        body: delivery.body.as_bytes(),
                        headers: &headers,
                    })
                    .await
            }
        };
        let verdict =
            match schedule::verdict(&attempt.outcome, delivery.attempt as u32, rand::random()) {
                Verdict::RetryAfter(wait) => {
                    Verdict::RetryAfter(wait.mul_f64(self.timing.retry_scale))
                }
                other => other,
            };
        let outcome = verdict.label();
        METRICS.webhook_attempts.with_label_values(&[outcome]).inc();
        METRICS
            .webhook_attempt_latency
            .with_label_values(&[outcome])
            .observe(attempt.latency.as_secs_f64());
        let sent = Sent {
            subscription_id: delivery.subscription_id.clone(),
            event_id: delivery.event_id.clone(),
            verdict: verdict.clone(),
        };
        let follow = follow
            && matches!(
                verdict,
                Verdict::Delivered | Verdict::GiveUp | Verdict::Failed
            );
        let lease = self.timing.lease;
        let next = db::run(&self.pool, move |conn| {
            conn.transaction(|conn| {
                let mine = record(conn, &delivery, &attempt, &verdict)?;
                // A delivery another worker took over is its chain to go on.
                if !(follow && mine) {
                    return Ok(None);
                }
                let id = delivery.subscription_id.as_str();
                let Some(next) = queue::claim_head_of(conn, id, lease)? else {
                    return Ok(None);
                };
                Ok::<_, WebhooksError>(Some((next, subscriptions::find(conn, id)?)))
            })
        })
        .await?;
        let Some((next, row)) = next else {
            return Ok((sent, None));
        };
        match self
            .with_standings(vec![next], row.into_iter().collect())
            .await
        {
            Ok(mut ready) => Ok((sent, ready.pop())),
            // Put back; the claim loop takes it up again.
            Err(error) => {
                tracing::warn!(%error, "webhook worker: no standing for the next delivery");
                Ok((sent, None))
            }
        }
    }

    /// The URL and secrets to send with, or why the delivery must not go.
    fn prepare(&self, row: &SubscriptionRow) -> Result<(url::Url, Vec<SigningSecret>), String> {
        if row.revoked_at.is_some() || row.disabled_at.is_some() {
            return Err("the subscription was revoked or disabled before sending".into());
        }
        let url = self
            .policy
            .check_url(&row.callback_url)
            .map_err(|error| error.to_string())?;
        let previous = row
            .previous_sealed_secret
            .as_deref()
            .zip(row.previous_secret_until);
        let secrets = self
            .sealer
            .signing_secrets(&row.id, &row.sealed_secret, previous)
            .ok_or("the signing secret does not open")?;
        Ok((url, secrets))
    }
}

/// An attempt that was not made, and why.
fn not_sent(why: String) -> Attempt {
    Attempt {
        outcome: Outcome::Refused,
        latency: Duration::ZERO,
        response_body: String::new(),
        error: Some(why),
    }
}

/// Writes down one attempt: the log line, the delivery's next state, and
/// what it means for its subscription. Answers whether the delivery was
/// still this worker's to finish.
fn record(
    conn: &mut diesel::PgConnection,
    delivery: &Claimed,
    attempt: &Attempt,
    verdict: &Verdict,
) -> Result<bool, WebhooksError> {
    let status = match attempt.outcome {
        Outcome::Answered { status, .. } => i32::from(status),
        _ => 0,
    };
    queue::record_attempt(
        conn,
        &AttemptRow {
            id: ids::new_id(ids::DELIVERY_ATTEMPT),
            delivery_id: delivery.id,
            subscription_id: delivery.subscription_id.clone(),
            event_id: delivery.event_id.clone(),
            attempt: delivery.attempt,
            response_status: status,
            latency_ms: attempt.latency.as_millis().min(i32::MAX as u128) as i32,
            response_body: attempt.response_body.clone(),
            error: attempt.error.clone(),
            attempted_at: Utc::now(),
        },
    )?;
    let finish = match verdict {
        Verdict::Delivered => Finish::Delivered,
        Verdict::RetryAfter(wait) => {
            Finish::RetryAt(Utc::now() + TimeDelta::from_std(*wait).unwrap_or(TimeDelta::MAX))
        }
        Verdict::GiveUp | Verdict::Failed | Verdict::DisableSubscription => Finish::Failed,
    };
    // A delivery taken over by another worker (our lease ran out) is
    // theirs to finish; the log line above still says what we saw.
    let mine = queue::finish(conn, delivery, finish)?;
    let id = delivery.subscription_id.as_str();
    if *verdict == Verdict::DisableSubscription {
        subscriptions::disable(conn, id, "the endpoint answered 410 Gone")?;
        return Ok(mine);
    }
    let failing_since = subscriptions::note_outcome(conn, id, *verdict == Verdict::Delivered)?;
    let failing_for = failing_since
        .and_then(|since| (Utc::now() - since).to_std().ok())
        .unwrap_or_default();
    if schedule::should_disable(failing_for) {
        subscriptions::disable(conn, id, "every delivery failed for five days")?;
    }
    Ok(mine)
}
