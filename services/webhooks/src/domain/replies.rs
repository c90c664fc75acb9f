//! What a bot's answer to a slash command (or a follow-up) says: the rules
//! shared by the request-URL answer and the response URL.
//!
//! An answer is empty (an acknowledgement that says nothing) or a JSON
//! object `{response_type?, text?}`; `response_type` is `in_channel` (the
//! default, as upstream) or `ephemeral` (only the invoker sees it). A
//! button press may be answered `{replace_original: true, text?, actions?}`
//! instead, which edits the pressed message.

use crate::domain::schedule::Outcome;
use serde::Deserialize;

use clickclack_common::actions::MessageAction;
pub use clickclack_common::commands::{Answer, MAX_REPLY_CHARS, Reply, Visibility};

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    response_type: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    replace_original: bool,
    #[serde(default)]
    actions: Option<Vec<MessageAction>>,
}

/// An answer's body; an empty one only acknowledges.
pub fn read_answer(body: &str) -> Result<Answer, String> {
    if body.trim().is_empty() {
        return Ok(Answer::Ack);
    }
    let body: Body = serde_json::from_str(body)
        .map_err(|_| "answered with a body that is not a JSON object".to_owned())?;
    clickclack_common::commands::answer(
        body.response_type.as_deref(),
        body.text.as_deref(),
        body.replace_original,
        body.actions,
    )
}

/// Why an attempt at a request URL is not an acknowledgement, in words the
/// invoker reads; `None` when the bot answered 2xx.
pub fn failure(command: &str, outcome: &Outcome, error: Option<&str>) -> Option<String> {
    match outcome {
        Outcome::Answered { status, .. } if (200..300).contains(status) => None,
        Outcome::Answered { status, .. } => {
            Some(format!("{command} failed: its bot answered HTTP {status}"))
        }
        Outcome::TimedOut => Some(format!(
            "{command} failed: its bot did not answer within 3 seconds"
        )),
        Outcome::Unreachable | Outcome::Refused => Some(format!(
            "{command} failed: its bot could not be reached ({})",
            error.unwrap_or("no connection")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_answer_acknowledges_without_a_reply() {
        assert_eq!(read_answer(""), Ok(Answer::Ack));
        assert_eq!(read_answer("  \n"), Ok(Answer::Ack));
        assert_eq!(
            read_answer(r#"{"response_type":"ephemeral"}"#),
            Ok(Answer::Ack)
        );
    }

    #[test]
    fn replies_are_in_channel_unless_they_say_ephemeral() {
        assert_eq!(
            read_answer(r#"{"text":" deployed "}"#),
            Ok(Answer::Reply(Reply {
                visibility: Visibility::InChannel,
                text: "deployed".into()
            }))
        );
        assert!(matches!(
            read_answer(r#"{"response_type":"ephemeral","text":"only you"}"#),
            Ok(Answer::Reply(Reply {
                visibility: Visibility::Ephemeral,
                ..
            }))
        ));
        assert!(matches!(
            read_answer(r#"{"replace_original":true,"text":"Approved","actions":[]}"#),
            Ok(Answer::Replace(_))
        ));
    }

    #[test]
    fn bad_answers_say_what_is_wrong() {
        assert!(read_answer("ok").unwrap_err().contains("not a JSON object"));
        assert!(
            read_answer(r#"{"response_type":"shout","text":"x"}"#)
                .unwrap_err()
                .contains("shout")
        );
        let long = format!(r#"{{"text":"{}"}}"#, "x".repeat(MAX_REPLY_CHARS + 1));
        assert!(read_answer(&long).unwrap_err().contains("longer"));
    }

    #[test]
    fn failures_name_what_went_wrong() {
        let answered = |status| Outcome::Answered {
            status,
            retry_after: None,
        };
        assert_eq!(failure("/deploy", &answered(200), None), None);
        assert_eq!(failure("/deploy", &answered(204), None), None);
        assert!(
            failure("/deploy", &answered(500), None)
                .unwrap()
                .contains("HTTP 500")
        );
        assert!(
            failure("/deploy", &Outcome::TimedOut, None)
                .unwrap()
                .contains("within 3 seconds")
        );
        assert!(
            failure("/deploy", &Outcome::Unreachable, Some("connection refused"))
                .unwrap()
                .contains("connection refused")
        );
    }
}
