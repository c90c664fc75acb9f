//! Pure input rules for messaging, applied before anything touches the store.

use crate::error::{MessagingError, Result};

/// Longest message body, in characters.
pub const MAX_BODY_CHARS: usize = 40_000;
pub const MAX_NONCE_CHARS: usize = 128;
pub const DEFAULT_PAGE: u32 = 100;
pub const MAX_PAGE: u32 = 200;
/// Longest channel label (`display_title`, `external_ref`, `sidebar_section`).
pub const MAX_LABEL_CHARS: usize = 200;
pub const MAX_URL_BYTES: usize = 2048;

pub const KIND_MESSAGE: &str = "message";
pub const AGENT_KINDS: [&str; 2] = ["agent_commentary", "agent_tool"];

/// Slugifies a channel name: lowercase, every run of other characters
/// becomes one `-`, no `-` at either end.
pub fn channel_name(raw: &str) -> Result<String> {
    let mut name = String::new();
    for c in raw.trim().to_lowercase().chars() {
        if c.is_alphanumeric() || c == '_' {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-').to_owned();
    if name.is_empty() {
        return Err(MessagingError::Invalid("channel name is required".into()));
    }
    if name.chars().count() > 80 {
        return Err(MessagingError::Invalid(
            "channel name must be at most 80 characters".into(),
        ));
    }
    Ok(name)
}

pub fn channel_kind(raw: &str) -> Result<String> {
    match raw.trim() {
        "" | "public" => Ok("public".into()),
        "private" => Ok("private".into()),
        other => Err(MessagingError::Invalid(format!(
            "unknown channel kind {other:?} (use public or private)"
        ))),
    }
}

/// A channel's optional label (`display_title`, `external_ref`,
/// `sidebar_section`): trimmed, blank means unset, bounded in length.
pub fn channel_label(field: &str, raw: Option<String>) -> Result<Option<String>> {
    let Some(raw) = raw else { return Ok(None) };
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > MAX_LABEL_CHARS {
        return Err(MessagingError::Invalid(format!(
            "{field} must be at most {MAX_LABEL_CHARS} characters"
        )));
    }
    Ok(Some(value.to_owned()))
}

/// `external_url`: blank means unset; otherwise an absolute http(s) URL, so
/// a client rendering it as a link cannot be handed a `javascript:` one.
pub fn external_url(raw: Option<String>) -> Result<Option<String>> {
    let Some(raw) = raw else { return Ok(None) };
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let lower = value.to_ascii_lowercase();
    let scheme_ok = lower.starts_with("https://") || lower.starts_with("http://");
    if !scheme_ok || value.len() > MAX_URL_BYTES || value.chars().any(char::is_whitespace) {
        return Err(MessagingError::Invalid(format!(
            "external_url must be an http(s) URL of at most {MAX_URL_BYTES} bytes"
        )));
    }
    Ok(Some(value.to_owned()))
}

/// Non-blank and at most [`MAX_BODY_CHARS`] characters.
pub fn body(raw: &str) -> Result<String> {
    if raw.trim().is_empty() {
        return Err(MessagingError::Invalid("message body is required".into()));
    }
    if raw.chars().count() > MAX_BODY_CHARS {
        return Err(MessagingError::Invalid(format!(
            "message body must be at most {MAX_BODY_CHARS} characters"
        )));
    }
    Ok(raw.to_owned())
}

/// An empty nonce means none.
pub fn nonce(raw: Option<&str>) -> Result<Option<String>> {
    match raw.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) if n.chars().count() > MAX_NONCE_CHARS => Err(MessagingError::Invalid(format!(
            "nonce must be at most {MAX_NONCE_CHARS} characters"
        ))),
        Some(n) => Ok(Some(n.to_owned())),
    }
}

/// `message` (default) or one of the agent kinds.
pub fn message_kind(raw: &str) -> Result<String> {
    match raw.trim() {
        "" | KIND_MESSAGE => Ok(KIND_MESSAGE.into()),
        kind if AGENT_KINDS.contains(&kind) => Ok(kind.into()),
        other => Err(MessagingError::Invalid(format!(
            "unknown message kind {other:?} (use message, agent_commentary or agent_tool)"
        ))),
    }
}

/// An emoji name or character: 1-64 characters, no whitespace or controls.
pub fn emoji(raw: &str) -> Result<String> {
    let emoji = raw.trim();
    let valid = !emoji.is_empty()
        && emoji.chars().count() <= 64
        && !emoji.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(emoji.to_owned())
    } else {
        Err(MessagingError::Invalid(format!("invalid emoji {raw:?}")))
    }
}

/// Page size: default when 0, otherwise 1..=max.
pub fn page_limit(requested: u32, default: u32, max: u32) -> Result<i64> {
    match requested {
        0 => Ok(default as i64),
        n if n <= max => Ok(n as i64),
        _ => Err(MessagingError::Invalid(format!(
            "limit must be between 1 and {max}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_slugified() {
        assert_eq!(
            channel_name("  Release Notes!! 2026 ").unwrap(),
            "release-notes-2026"
        );
        assert_eq!(channel_name("general").unwrap(), "general");
        assert_eq!(channel_name("--a__b--").unwrap(), "a__b");
        assert!(channel_name(" !!! ").is_err());
        assert!(channel_name(&"x".repeat(81)).is_err());
    }

    #[test]
    fn channel_labels_and_urls_are_bounded() {
        assert_eq!(channel_label("x", None).unwrap(), None);
        assert_eq!(channel_label("x", Some("  ".into())).unwrap(), None);
        assert_eq!(
            channel_label("x", Some(" Ops ".into())).unwrap().as_deref(),
            Some("Ops")
        );
        assert!(channel_label("x", Some("a".repeat(MAX_LABEL_CHARS + 1))).is_err());
        assert_eq!(
            external_url(Some("https://example.com/t/1".into()))
                .unwrap()
                .as_deref(),
            Some("https://example.com/t/1")
        );
        assert!(external_url(Some("javascript:alert(1)".into())).is_err());
        assert!(external_url(Some("https://a b".into())).is_err());
        assert_eq!(external_url(Some(String::new())).unwrap(), None);
    }

    #[test]
    fn bodies_must_be_present_and_bounded() {
        assert!(body("").is_err());
        assert!(body(" \n ").is_err());
        assert!(body(&"é".repeat(MAX_BODY_CHARS)).is_ok());
        assert!(body(&"é".repeat(MAX_BODY_CHARS + 1)).is_err());
    }

    #[test]
    fn nonces_kinds_and_emoji_are_checked() {
        assert_eq!(nonce(Some(" ")).unwrap(), None);
        assert!(nonce(Some(&"n".repeat(129))).is_err());
        assert_eq!(message_kind("").unwrap(), "message");
        assert_eq!(message_kind("agent_tool").unwrap(), "agent_tool");
        assert!(message_kind("system").is_err());
        assert_eq!(emoji(" :tada: ").unwrap(), ":tada:");
        assert!(emoji("two words").is_err());
        assert!(emoji("").is_err());
    }

    #[test]
    fn page_limits_default_and_cap() {
        assert_eq!(page_limit(0, 100, 200).unwrap(), 100);
        assert_eq!(page_limit(200, 100, 200).unwrap(), 200);
        assert!(page_limit(201, 100, 200).is_err());
    }
}
