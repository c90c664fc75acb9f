//! Event-log cursors: `cur_` + a zero-padded position, so cursors sort as
//! plain strings in append order (API.md §8).

const PREFIX: &str = "cur_";
const DIGITS: usize = 20;

pub fn encode(position: i64) -> String {
    format!("{PREFIX}{position:0DIGITS$}")
}

/// The position a cursor names; `""` means the start of the log.
pub fn decode(cursor: &str) -> Option<i64> {
    if cursor.is_empty() {
        return Some(0);
    }
    let digits = cursor.strip_prefix(PREFIX)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_sort_in_append_order() {
        assert_eq!(decode(&encode(42)), Some(42));
        assert_eq!(decode(""), Some(0));
        let mut cursors: Vec<String> = [10, 9, 100, 1].iter().map(|p| encode(*p)).collect();
        cursors.sort();
        assert_eq!(cursors, vec![encode(1), encode(9), encode(10), encode(100)]);
    }

    #[test]
    fn malformed_cursors_are_refused() {
        for bad in ["cur_", "cur_12", "nope", "cur_0000000000000000000x", "01m8"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
