//! Slash-command names, as both a bot's published menu (identity) and a
//! workspace's registered commands (webhooks) spell them: lower case, with
//! one leading `/`. Also what a bot may answer a command or a button
//! press with.

use crate::actions::{self, MessageAction};

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

/// A button press's answer may change the pressed message instead of
/// replying: the fields given replace the message's (its body, its buttons;
/// `[]` removes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    pub text: Option<String>,
    pub actions: Option<Vec<MessageAction>>,
}

/// What a bot's answer (or follow-up) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Only an acknowledgement.
    Ack,
    Reply(Reply),
    Replace(Replacement),
}

/// An answer's fields as given. `replace_original` (Slack's name) edits the
/// pressed message; `actions` come only with it.
pub fn answer(
    response_type: Option<&str>,
    text: Option<&str>,
    replace_original: bool,
    actions: Option<Vec<MessageAction>>,
) -> Result<Answer, String> {
    if !replace_original {
        if actions.is_some() {
            return Err(
                "actions change the pressed message: send them with replace_original".into(),
            );
        }
        return Ok(reply(response_type, text)?.map_or(Answer::Ack, Answer::Reply));
    }
    let text = text.map(str::trim).filter(|text| !text.is_empty());
    if text.is_some_and(|text| text.chars().count() > MAX_REPLY_CHARS) {
        return Err(format!(
            "the reply is longer than {MAX_REPLY_CHARS} characters"
        ));
    }
    let actions = actions.map(actions::validate).transpose()?;
    if text.is_none() && actions.is_none() {
        return Err("replace_original needs a text or actions".into());
    }
    Ok(Answer::Replace(Replacement {
        text: text.map(str::to_owned),
        actions,
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
    fn answers_reply_replace_or_only_acknowledge() {
        assert_eq!(answer(None, Some("  "), false, None), Ok(Answer::Ack));
        assert!(matches!(
            answer(Some("ephemeral"), Some("hi"), false, None),
            Ok(Answer::Reply(Reply {
                visibility: Visibility::Ephemeral,
                ..
            }))
        ));
        assert_eq!(
            answer(None, Some(" Approved "), true, Some(vec![])),
            Ok(Answer::Replace(Replacement {
                text: Some("Approved".into()),
                actions: Some(vec![]),
            }))
        );
        assert!(
            answer(None, None, true, None)
                .unwrap_err()
                .contains("needs")
        );
        assert!(
            answer(None, Some("x"), false, Some(vec![]))
                .unwrap_err()
                .contains("replace_original")
        );
    }

    #[test]
    fn malformed_commands_are_refused() {
        for bad in ["", "/", "has space", "-lead", &"x".repeat(33), "ünï"] {
            assert!(normalize_command(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
