//! Slash-command names, as both a bot's published menu (identity) and a
//! workspace's registered commands (webhooks) spell them: lower case, with
//! one leading `/`.

/// The longest name, without its `/`.
pub const MAX_COMMAND_CHARS: usize = 32;

/// `Deploy` → `/deploy`; an error that says what a name may hold.
pub fn normalize_command(raw: &str) -> Result<String, String> {
    let name = raw.trim().trim_start_matches('/').to_lowercase();
    let valid = !name.is_empty()
        && name.len() <= MAX_COMMAND_CHARS
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(format!("/{name}"))
    } else {
        Err(format!(
            "invalid command {raw:?}: use 1-{MAX_COMMAND_CHARS} characters a-z, 0-9, _ or -"
        ))
    }
}

/// The longest reply text (as the longest message body).
pub const MAX_REPLY_CHARS: usize = 40_000;

/// Who sees a bot's reply to a command: everyone where it was typed
/// (`in_channel`, the default, as upstream) or only the invoker
/// (`ephemeral`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    InChannel,
    Ephemeral,
}

impl Visibility {
    pub fn as_str(&self) -> &'static str {
        match self {
            Visibility::InChannel => "in_channel",
            Visibility::Ephemeral => "ephemeral",
        }
    }

    pub fn parse(raw: &str) -> Result<Visibility, String> {
        match raw.trim() {
            "" | "in_channel" => Ok(Visibility::InChannel),
            "ephemeral" => Ok(Visibility::Ephemeral),
            other => Err(format!(
                "response_type {other:?} is neither in_channel nor ephemeral"
            )),
        }
    }
}

/// A reply that says something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub visibility: Visibility,
    pub text: String,
}

/// `response_type` and `text` as given: no text is no reply.
pub fn reply(response_type: Option<&str>, text: Option<&str>) -> Result<Option<Reply>, String> {
    let visibility = Visibility::parse(response_type.unwrap_or_default())?;
    let text = text.unwrap_or_default().trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > MAX_REPLY_CHARS {
        return Err(format!(
            "the reply is longer than {MAX_REPLY_CHARS} characters"
        ));
    }
    Ok(Some(Reply {
        visibility,
        text: text.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_lowercased_with_one_leading_slash() {
        assert_eq!(normalize_command(" Deploy ").unwrap(), "/deploy");
        assert_eq!(normalize_command("/status").unwrap(), "/status");
        assert_eq!(normalize_command("//ci-run").unwrap(), "/ci-run");
    }

    #[test]
    fn malformed_commands_are_refused() {
        for bad in ["", "/", "has space", "-lead", &"x".repeat(33), "ünï"] {
            assert!(normalize_command(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
