//! Interactive actions: the buttons a bot puts under its message. Messaging
//! stores them with the message, the gateway parses them from JSON and
//! hands a press to the bot, so both read them through here.

use clickclack_proto::messaging as pb;
use serde::{Deserialize, Serialize};

/// The most buttons under one message (Slack's action block holds 5 too).
pub const MAX_ACTIONS: usize = 5;
/// The longest action id.
pub const MAX_ID_CHARS: usize = 64;
/// The longest button label (short enough to fit a button).
pub const MAX_LABEL_CHARS: usize = 80;
/// The longest value a button hands back to its bot.
pub const MAX_VALUE_CHARS: usize = 2_000;

/// One button: `id` names it to the bot, `value` is handed back on a press.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MessageAction {
    /// 1-64 characters of a-z, A-Z, 0-9, `_`, `-` or `.`; unique in the message.
    pub id: String,
    /// What the button says (1-80 characters).
    pub label: String,
    /// `default`, `primary` or `danger`.
    #[serde(default = "default_style")]
    pub style: String,
    /// Handed back to the bot on a press (at most 2,000 characters).
    #[serde(default)]
    pub value: String,
}

fn default_style() -> String {
    "default".into()
}

/// The styles a button may have.
pub const STYLES: [&str; 3] = ["default", "primary", "danger"];

/// Checks a message's buttons, trimming labels and filling in the style;
/// the error says which button is wrong and why.
pub fn validate(actions: Vec<MessageAction>) -> Result<Vec<MessageAction>, String> {
    if actions.len() > MAX_ACTIONS {
        return Err(format!("a message has at most {MAX_ACTIONS} actions"));
    }
    let mut seen = std::collections::HashSet::new();
    actions
        .into_iter()
        .map(|action| {
            let id = action.id.trim().to_owned();
            let id_ok = !id.is_empty()
                && id.len() <= MAX_ID_CHARS
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !id_ok {
                return Err(format!(
                    "action id {:?} must be 1-{MAX_ID_CHARS} characters a-z, A-Z, 0-9, _, - or .",
                    action.id
                ));
            }
            if !seen.insert(id.clone()) {
                return Err(format!("action id {id:?} is used twice"));
            }
            let label = action.label.trim().to_owned();
            let label_chars = label.chars().count();
            if label_chars == 0 || label_chars > MAX_LABEL_CHARS {
                return Err(format!(
                    "action {id:?}: label must be 1-{MAX_LABEL_CHARS} characters"
                ));
            }
            let style = match action.style.trim() {
                "" => "default".to_owned(),
                style if STYLES.contains(&style) => style.to_owned(),
                other => {
                    return Err(format!(
                        "action {id:?}: style {other:?} is not default, primary or danger"
                    ));
                }
            };
            if action.value.chars().count() > MAX_VALUE_CHARS {
                return Err(format!(
                    "action {id:?}: value is at most {MAX_VALUE_CHARS} characters"
                ));
            }
            Ok(MessageAction {
                id,
                label,
                style,
                value: action.value,
            })
        })
        .collect()
}

/// Buttons as the services' protobuf carries them.
pub fn to_pb(actions: Vec<MessageAction>) -> Vec<pb::MessageAction> {
    actions
        .into_iter()
        .map(|action| pb::MessageAction {
            id: action.id,
            label: action.label,
            style: action.style,
            value: action.value,
        })
        .collect()
}

/// Buttons from protobuf, to be checked with [`validate`].
pub fn from_pb(actions: Vec<pb::MessageAction>) -> Vec<MessageAction> {
    actions
        .into_iter()
        .map(|action| MessageAction {
            id: action.id,
            label: action.label,
            style: action.style,
            value: action.value,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn button(id: &str, label: &str, style: &str) -> MessageAction {
        MessageAction {
            id: id.into(),
            label: label.into(),
            style: style.into(),
            value: String::new(),
        }
    }

    #[test]
    fn good_buttons_are_trimmed_and_styled() {
        let checked = validate(vec![
            button(" approve ", " Approve ", ""),
            button("deny", "Deny", "danger"),
        ])
        .unwrap();
        assert_eq!(checked[0], button("approve", "Approve", "default"));
        assert_eq!(checked[1].style, "danger");
    }

    #[test]
    fn bad_buttons_are_refused_with_a_reason() {
        let six = (0..6).map(|i| button(&format!("b{i}"), "B", "")).collect();
        assert!(validate(six).unwrap_err().contains("at most 5"));
        assert!(
            validate(vec![button("a b", "A", "")])
                .unwrap_err()
                .contains("action id")
        );
        assert!(
            validate(vec![button("a", "A", ""), button("a", "B", "")])
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            validate(vec![button("a", " ", "")])
                .unwrap_err()
                .contains("label")
        );
        assert!(
            validate(vec![button("a", "A", "loud")])
                .unwrap_err()
                .contains("style")
        );
        let mut long = button("a", "A", "");
        long.value = "v".repeat(MAX_VALUE_CHARS + 1);
        assert!(validate(vec![long]).unwrap_err().contains("value"));
    }
}
