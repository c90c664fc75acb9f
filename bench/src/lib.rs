//! What the load generators in `src/bin` share.

use std::time::Duration;

/// The value at quantile `p` (0 to 1) of an ascending slice, by nearest rank.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    Some(sorted[(last as f64 * p).round() as usize])
}

/// [`percentile`] of durations, in milliseconds (0 when there are none).
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    percentile(sorted, p).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let values = [1, 2, 3, 4, 5];
        assert_eq!(percentile(&values, 0.0), Some(1));
        assert_eq!(percentile(&values, 0.5), Some(3));
        assert_eq!(percentile(&values, 1.0), Some(5));
        assert_eq!(percentile::<u8>(&[], 0.5), None);
        assert_eq!(percentile_ms(&[Duration::from_millis(7)], 0.99), 7.0);
    }
}
