//! Timestamps on the wire are RFC 3339 UTC strings (API.md §0).

use chrono::{DateTime, SecondsFormat, Utc};

pub fn rfc3339(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_as_utc_with_z() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-25T12:00:00.5+02:00")
            .unwrap()
            .to_utc();
        assert_eq!(super::rfc3339(&at), "2026-11-25T10:00:00.500000Z");
    }
}
