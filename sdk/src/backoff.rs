//! Exponential backoff with full jitter: the n-th retry waits a uniformly
//! random time in `[0, min(cap, base * 2^n)]`. Full jitter spreads the
//! reconnects of many bots after an outage instead of having them all come
//! back at the same instant.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub const DEFAULT_BASE: Duration = Duration::from_millis(200);
    pub const DEFAULT_CAP: Duration = Duration::from_secs(30);

    /// `cap` is raised to `base` if it is smaller.
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap: cap.max(base),
            attempt: 0,
        }
    }

    /// The longest the next delay can be: `min(cap, base * 2^attempt)`.
    pub fn ceiling(&self) -> Duration {
        1u32.checked_shl(self.attempt)
            .and_then(|factor| self.base.checked_mul(factor))
            .map_or(self.cap, |delay| delay.min(self.cap))
    }

    /// A random delay up to [`Backoff::ceiling`]; each call doubles the
    /// ceiling until it reaches the cap.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = u64::try_from(self.ceiling().as_nanos()).unwrap_or(u64::MAX);
        self.attempt = self.attempt.saturating_add(1);
        Duration::from_nanos(rand::rng().random_range(0..=ceiling))
    }

    /// Back to the first step, after something went well.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Delays handed out since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Self::DEFAULT_BASE, Self::DEFAULT_CAP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_the_doubling_ceiling_and_the_cap() {
        let base = Duration::from_millis(200);
        let cap = Duration::from_secs(30);
        let mut backoff = Backoff::new(base, cap);
        for attempt in 0..200u32 {
            let expected_ceiling = if attempt < 8 {
                base * 2u32.pow(attempt)
            } else {
                cap // 200 ms * 2^8 = 51.2 s > 30 s
            };
            assert_eq!(backoff.ceiling(), expected_ceiling, "attempt {attempt}");
            let delay = backoff.next_delay();
            assert!(delay <= expected_ceiling, "attempt {attempt}: {delay:?}");
        }
        assert_eq!(backoff.attempt(), 200);
        // Far past any shift or multiplication overflow, still the cap.
        backoff.attempt = u32::MAX;
        assert_eq!(backoff.ceiling(), cap);
        assert!(backoff.next_delay() <= cap);
    }

    #[test]
    fn delays_are_jittered_and_reset_starts_over() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(1));
        let delays: Vec<Duration> = (0..50).map(|_| backoff.next_delay()).collect();
        let first = delays[0];
        assert!(
            delays.iter().any(|d| *d != first),
            "full jitter: not all the same: {delays:?}"
        );
        backoff.reset();
        assert_eq!(backoff.attempt(), 0);
        assert_eq!(backoff.ceiling(), Duration::from_secs(1));
    }

    #[test]
    fn a_cap_below_the_base_is_raised_to_the_base() {
        let backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(backoff.ceiling(), Duration::from_secs(2));
    }
}
