//! What an attempt's outcome means, and when the next one is due.
//!
//! 2xx is delivered. A timeout, a connection failure, 429 and 5xx are
//! retried: the first attempt goes at once, the next after 5 s, 5 min,
//! 30 min, 2 h, 5 h, 10 h and 10 h (eight in all, each wait ±20 % so that many failed deliveries do not return at one
//! instant), or later where the receiver's `Retry-After` asks for it.
//! 410 Gone disables the subscription at once. Any other answer is logged
//! and not retried. A subscription whose deliveries have failed for five
//! days without one success is disabled.

use std::time::Duration;

/// Waits before the 2nd, 3rd, ... 8th attempt.
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(10 * 3600);
/// How long a subscription may fail without a success before it is
/// disabled.
pub const DISABLE_AFTER_FAILING: Duration = Duration::from_secs(5 * 24 * 3600);

/// How one attempt ended, as the sender saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered with this status (and maybe `Retry-After`).
    Answered {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer within the timeout.
    TimedOut,
    /// No connection (refused, reset, DNS, TLS).
    Unreachable,
    /// Not attempted: the target is not allowed (it resolves to a private
    /// address, say). Retrying the same URL would not help.
    Refused,
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try again after this long.
    RetryAfter(Duration),
    /// Out of attempts: logged as failed for good.
    GiveUp,
    /// 410: the receiver asks never to be called again.
    DisableSubscription,
    /// An answer that retrying will not change (a 4xx other than 429):
    /// logged, not retried.
    Failed,
}

impl Verdict {
    /// Its name in metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Delivered => "delivered",
            Verdict::RetryAfter(_) => "retry",
            Verdict::GiveUp => "gave_up",
            Verdict::DisableSubscription => "disabled",
            Verdict::Failed => "failed",
        }
    }
}

/// The verdict on attempt number `attempt` (1 for the first), with
/// `jitter` in [0, 1) spreading the wait by ±20 %.
pub fn verdict(outcome: &Outcome, attempt: u32, jitter: f64) -> Verdict {
    let retry_after = match outcome {
        Outcome::Answered { status, .. } if (200..300).contains(status) => {
            return Verdict::Delivered;
        }
        Outcome::Answered { status: 410, .. } => return Verdict::DisableSubscription,
        Outcome::Answered {
            status,
            retry_after,
        } if *status == 429 || (500..600).contains(status) => *retry_after,
        Outcome::TimedOut | Outcome::Unreachable => None,
        Outcome::Answered { .. } | Outcome::Refused => return Verdict::Failed,
    };
    let next = (attempt as usize).checked_sub(1);
    let Some(base) = next.and_then(|index| RETRY_DELAYS.get(index)).copied() else {
        return Verdict::GiveUp;
    };
    let spread = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    let wait = base.mul_f64(spread);
    let asked = retry_after.map(|asked| asked.min(MAX_RETRY_AFTER));
    Verdict::RetryAfter(asked.map_or(wait, |asked| asked.max(wait)))
}

/// A `Retry-After` value: seconds (HTTP dates are not honoured).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Whether a subscription failing since `failing_for` ago is disabled.
pub fn should_disable(failing_for: Duration) -> bool {
    failing_for >= DISABLE_AFTER_FAILING
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16) -> Outcome {
        Outcome::Answered {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn answers_mean_what_the_receiver_said() {
        assert_eq!(verdict(&answered(200), 1, 0.5), Verdict::Delivered);
        assert_eq!(verdict(&answered(204), 3, 0.5), Verdict::Delivered);
        assert_eq!(
            verdict(&answered(410), 1, 0.5),
            Verdict::DisableSubscription
        );
        for status in [400, 401, 403, 404, 413, 301, 302] {
            assert_eq!(
                verdict(&answered(status), 1, 0.5),
                Verdict::Failed,
                "{status}"
            );
        }
        assert_eq!(verdict(&Outcome::Refused, 1, 0.5), Verdict::Failed);
        for retried in [
            answered(429),
            answered(500),
            answered(503),
            Outcome::TimedOut,
            Outcome::Unreachable,
        ] {
            assert!(
                matches!(verdict(&retried, 2, 0.5), Verdict::RetryAfter(_)),
                "{retried:?}"
            );
        }
    }

    #[test]
    fn retries_follow_the_schedule_with_jitter_then_give_up() {
        let failed = Outcome::Unreachable;
        let waits: Vec<Duration> = (1..=7)
            .map(|attempt| match verdict(&failed, attempt, 0.5) {
                Verdict::RetryAfter(wait) => wait,
                other => panic!("attempt {attempt}: {other:?}"),
            })
            .collect();
        assert_eq!(waits, RETRY_DELAYS.to_vec(), "no jitter at the midpoint");
        assert_eq!(verdict(&failed, 8, 0.5), Verdict::GiveUp);
        let early = verdict(&failed, 2, 0.0);
        let late = verdict(&failed, 2, 0.999);
        assert_eq!(early, Verdict::RetryAfter(Duration::from_secs(240)));
        assert!(
            matches!(late, Verdict::RetryAfter(wait) if wait > Duration::from_secs(359) && wait < Duration::from_secs(360))
        );
    }

    #[test]
    fn retry_after_is_honoured_within_bounds() {
        let asked = |seconds| Outcome::Answered {
            status: 429,
            retry_after: Some(Duration::from_secs(seconds)),
        };
        assert_eq!(
            verdict(&asked(120), 1, 0.5),
            Verdict::RetryAfter(Duration::from_secs(120)),
            "later than the schedule's 5 s"
        );
        assert_eq!(
            verdict(&asked(1), 2, 0.5),
            Verdict::RetryAfter(Duration::from_secs(300)),
            "never sooner than the schedule"
        );
        assert_eq!(
            verdict(&asked(10 * 24 * 3600), 1, 0.5),
            Verdict::RetryAfter(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn five_days_of_failures_disable_a_subscription() {
        assert!(!should_disable(
            DISABLE_AFTER_FAILING - Duration::from_secs(1)
        ));
        assert!(should_disable(DISABLE_AFTER_FAILING));
    }
}
