//! What the load generators in `src/bin` share, and the pieces of the
//! `suite` benchmark (a fresh stack, raw Postgres inserts, writers, sockets).

pub mod load;
pub mod raw;
pub mod sockets;
pub mod stack;

use serde_json::{Value, json};
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

/// `{p50, p99, max}` in milliseconds, rounded to 0.01 ms.
pub fn latency_summary(mut values: Vec<Duration>) -> Value {
    values.sort();
    let ms = |p| (percentile_ms(&values, p) * 100.0).round() / 100.0;
    json!({ "p50": ms(0.50), "p99": ms(0.99), "max": ms(1.0) })
}

/// Resident memory of a process, in KiB (Linux `/proc`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

/// CPU time (user + system) a process has used so far, in clock ticks
/// (Linux `/proc/<pid>/stat`, usually 100 per second).
pub fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// CPU ticks used so far by every process named `name` (all of a server's
/// backends, say).
pub fn cpu_ticks_named(name: &str) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == name)
        })
        .map(cpu_ticks)
        .sum()
}

/// Rounds a rate or ratio for the report.
pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
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

    #[test]
    fn summaries_sort_first() {
        let summary = latency_summary(vec![
            Duration::from_millis(9),
            Duration::from_millis(1),
            Duration::from_millis(5),
        ]);
        assert_eq!(summary, json!({ "p50": 5.0, "p99": 9.0, "max": 9.0 }));
    }

    #[test]
    fn rss_and_cpu_of_this_process_are_readable() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {
            std::hint::black_box(0);
        }
        assert!(cpu_ticks(std::process::id()) > 0);
    }
}
