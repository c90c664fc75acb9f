//! The one retry policy of the server side, on `backon`'s exponential
//! backoff: after a failure, wait `first`, then twice as long each time, up
//! to [`CAP`]; once the thing works again, start over from `first`. Used by
//! every reconnect loop (the gateway's live feed and auth-change stream,
//! the services' Postgres listeners) and by mail delivery.

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The longest wait between two attempts: a peer that comes back is
/// noticed within this.
pub const CAP: Duration = Duration::from_secs(2);

/// The policy, for `backon::Retryable::retry`: doubling from `first` up to
/// [`CAP`], at most `attempts` retries.
pub fn policy(first: Duration, attempts: usize) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(first)
        .with_max_delay(CAP)
        .with_factor(2.0)
        .with_max_times(attempts)
}

/// The delays of a loop that reconnects for as long as the process runs.
pub struct Reconnect {
    first: Duration,
    delays: ExponentialBackoff,
}

impl Reconnect {
    pub fn new(first: Duration) -> Reconnect {
        Reconnect {
            first,
            delays: Self::start(first),
        }
    }

    fn start(first: Duration) -> ExponentialBackoff {
        policy(first, usize::MAX).without_max_times().build()
    }

    /// How long to wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        self.delays.next().unwrap_or(CAP)
    }

    /// Back to the first delay, after a connection worked.
    pub fn reset(&mut self) {
        self.delays = Self::start(self.first);
    }

    /// Sleeps the next delay; false when `shutdown` came first.
    pub async fn wait(&mut self, shutdown: &CancellationToken) -> bool {
        let delay = self.next_delay();
        tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = shutdown.cancelled() => false,
        }
    }

    /// Sleeps the next delay on a blocking thread, waking early for
    /// `shutdown`; false when it came.
    pub fn wait_blocking(&mut self, shutdown: &CancellationToken) -> bool {
        let until = std::time::Instant::now() + self.next_delay();
        while std::time::Instant::now() < until {
            if shutdown.is_cancelled() {
                return false;
            }
            std::thread::sleep(BLOCKING_CHECK.min(until - std::time::Instant::now()));
        }
        !shutdown.is_cancelled()
    }
}

/// How often a blocking wait looks at the shutdown signal.
const BLOCKING_CHECK: Duration = Duration::from_millis(50);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_start_over_after_a_reset() {
        let mut delays = Reconnect::new(Duration::from_millis(100));
        // backon's factor is an f32: whole milliseconds are exact enough.
        let first: Vec<_> = (0..7).map(|_| delays.next_delay().as_millis()).collect();
        assert_eq!(first, [100, 200, 400, 800, 1600, 2000, 2000]);
        delays.reset();
        assert_eq!(delays.next_delay().as_millis(), 100);
    }

    #[test]
    fn a_bounded_policy_stops_after_its_attempts() {
        let delays: Vec<_> = policy(Duration::from_millis(500), 2)
            .build()
            .map(|delay| delay.as_millis())
            .collect();
        assert_eq!(delays, [500, 1000]);
    }

    #[tokio::test]
    async fn a_wait_ends_early_on_shutdown() {
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        let mut delays = Reconnect::new(Duration::from_secs(60));
        assert!(!delays.wait(&shutdown).await);
        assert!(!delays.wait_blocking(&shutdown));
    }
}
