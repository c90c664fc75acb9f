//! One pass of the delivery worker: claim what is due, send each, and write
//! down what came of it (the queue, the subscription, the log) in one
//! transaction per delivery.
//!
//! A subscription is read again just before sending, so one revoked or
//! disabled a moment ago sends nothing more, and its URL is checked against
//! today's policy. Its bot's standing is asked of identity for every batch:
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
use diesel::Connection;
use std::sync::Arc;
use std::time::Duration;

/// How long a claimed delivery is held: well past one attempt's timeout.
pub const LEASE: Duration = Duration::from_secs(60);

/// When a batch put back for want of an answer from identity is tried again.
const IDENTITY_RETRY: TimeDelta = TimeDelta::seconds(5);

/// Sends what the queue holds.
#[derive(Clone)]
pub struct Worker {
    pool: PgPool,
    sender: Sender,
    sealer: Arc<Sealer>,
    policy: Arc<TargetPolicy>,
    standings: Standings,
}

/// What one delivery came to, for the log and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub subscription_id: String,
    pub event_id: String,
    pub verdict: Verdict,
}

impl Worker {
    pub fn new(
        pool: PgPool,
        sender: Sender,
        sealer: Sealer,
        policy: TargetPolicy,
        standings: Standings,
    ) -> Worker {
        Worker {
            pool,
            sender,
            sealer: Arc::new(sealer),
            policy: Arc::new(policy),
            standings,
        }
    }

    /// Claims up to `limit` due deliveries (each the head of its
    /// subscription) and sends them side by side.
    pub async fn run_once(&self, limit: i64) -> Result<Vec<Sent>, WebhooksError> {
        let (claimed, found) = db::run(&self.pool, move |conn| {
            let claimed = queue::claim(conn, limit, LEASE)?;
            let ids: Vec<String> = claimed.iter().map(|d| d.subscription_id.clone()).collect();
            let found = subscriptions::find_many(conn, &ids)?;
            Ok::<_, WebhooksError>((claimed, found))
        })
        .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let bots = found.iter().map(SubscriptionRow::bot).collect();
        let standings = match self.standings.check(bots).await {
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
        let sends = claimed.into_iter().map(|delivery| {
            let subscription = found
                .iter()
                .find(|row| row.id == delivery.subscription_id)
                .cloned();
            let standing = subscription
                .as_ref()
                .and_then(|row| standings.get(&row.bot()).cloned())
                // Nothing goes on a guess.
                .unwrap_or_else(|| Err("identity gave no standing for this bot".into()));
            self.deliver(delivery, subscription, standing)
        });
        let mut sent = Vec::new();
        for outcome in futures_util::future::join_all(sends).await {
            sent.push(outcome?);
        }
        Ok(sent)
    }

    async fn deliver(
        &self,
        delivery: Claimed,
        subscription: Option<SubscriptionRow>,
        standing: Standing,
    ) -> Result<Sent, WebhooksError> {
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
        let verdict = schedule::verdict(&attempt.outcome, delivery.attempt as u32, rand::random());
        let sent = Sent {
            subscription_id: delivery.subscription_id.clone(),
            event_id: delivery.event_id.clone(),
            verdict: verdict.clone(),
        };
        db::run(&self.pool, move |conn| {
            conn.transaction(|conn| record(conn, &delivery, &attempt, &verdict))
        })
        .await?;
        Ok(sent)
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
        let open = |sealed: &[u8]| {
            self.sealer
                .open(&row.id, sealed)
                .ok()
                .and_then(|text| SigningSecret::parse(&text).ok())
        };
        let mut secrets = vec![open(&row.sealed_secret).ok_or("the signing secret does not open")?];
        if let (Some(previous), Some(until)) =
            (&row.previous_sealed_secret, row.previous_secret_until)
            && until > Utc::now()
            && let Some(previous) = open(previous)
        {
            secrets.push(previous);
        }
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
/// what it means for its subscription.
fn record(
    conn: &mut diesel::PgConnection,
    delivery: &Claimed,
    attempt: &Attempt,
    verdict: &Verdict,
) -> Result<(), WebhooksError> {
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
    queue::finish(conn, delivery, finish)?;
    let id = delivery.subscription_id.as_str();
    if *verdict == Verdict::DisableSubscription {
        subscriptions::disable(conn, id, "the endpoint answered 410 Gone")?;
        return Ok(());
    }
    let failing_since = subscriptions::note_outcome(conn, id, *verdict == Verdict::Delivered)?;
    let failing_for = failing_since
        .and_then(|since| (Utc::now() - since).to_std().ok())
        .unwrap_or_default();
    if schedule::should_disable(failing_for) {
        subscriptions::disable(conn, id, "every delivery failed for five days")?;
    }
    Ok(())
}
