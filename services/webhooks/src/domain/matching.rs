//! Which events a subscription asks for, and the body a receiver gets.
//!
//! A subscription names durable event types from the catalogue
//! (`GET /api/event-types`), or `*` for all of them, and optionally the
//! channels it cares about. Ephemeral events (typing, presence) are never
//! delivered: they have no cursor to deliver in order or to retry from.

use clickclack_common::event_types;
use clickclack_common::ids::{self, has_prefix};
use serde_json::{Value, json};

/// Every durable event type.
pub const ALL_TYPES: &str = "*";
/// The most event types or channels one subscription may name.
pub const MAX_LISTED: usize = 100;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InterestError {
    #[error("event_types is required: durable types from GET /api/event-types, or \"*\"")]
    NoEventTypes,
    #[error("{0:?} is not a durable event type (see GET /api/event-types)")]
    UnknownEventType(String),
    #[error("{0:?} is not a channel id")]
    NotAChannel(String),
    #[error("at most 100 event types and 100 channels")]
    TooMany,
}

/// What a subscription wants delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interest {
    /// Durable types, or just `*`.
    pub event_types: Vec<String>,
    /// Empty: every channel the bot can read.
    pub channel_ids: Vec<String>,
}

impl Interest {
    /// Checks what someone asked for: blanks dropped, duplicates removed,
    /// `*` standing alone when given.
    pub fn new(event_types: &[String], channel_ids: &[String]) -> Result<Interest, InterestError> {
        if event_types.len() > MAX_LISTED || channel_ids.len() > MAX_LISTED {
            return Err(InterestError::TooMany);
        }
        let mut types: Vec<String> = Vec::new();
        for kind in event_types
            .iter()
            .map(|kind| kind.trim())
            .filter(|kind| !kind.is_empty())
        {
            if kind != ALL_TYPES && !event_types::is_durable(kind) {
                return Err(InterestError::UnknownEventType(cut(kind)));
            }
            if !types.iter().any(|known| known == kind) {
                types.push(kind.to_owned());
            }
        }
        if types.is_empty() {
            return Err(InterestError::NoEventTypes);
        }
        if types.iter().any(|kind| kind == ALL_TYPES) {
            types = vec![ALL_TYPES.to_owned()];
        }
        let mut channels: Vec<String> = Vec::new();
        for id in channel_ids.iter().map(|id| id.trim()) {
            if !has_prefix(id, ids::CHANNEL) {
                return Err(InterestError::NotAChannel(cut(id)));
            }
            if !channels.iter().any(|known| known == id) {
                channels.push(id.to_owned());
            }
        }
        Ok(Interest {
            event_types: types,
            channel_ids: channels,
        })
    }

    /// Whether an event of `event_type` in `channel_id` is wanted.
    pub fn wants(&self, event_type: &str, channel_id: Option<&str>) -> bool {
        wanted(&self.event_types, &self.channel_ids, event_type, channel_id)
    }
}

/// [`Interest::wants`] over what a stored subscription lists (already
/// checked when it was created).
pub fn wanted(
    event_types: &[String],
    channel_ids: &[String],
    event_type: &str,
    channel_id: Option<&str>,
) -> bool {
    let type_wanted = if event_types.iter().any(|kind| kind == ALL_TYPES) {
        event_types::is_durable(event_type)
    } else {
        event_types.iter().any(|kind| kind == event_type)
    };
    let channel_wanted = channel_ids.is_empty()
        || channel_id.is_some_and(|id| channel_ids.iter().any(|wanted| wanted == id));
    type_wanted && channel_wanted
}

/// What a receiver is sent: the subscription and the event exactly as a
/// WebSocket frame carries it (`id`, `cursor`, `type`, `workspace_id`,
/// `payload`, ...).
pub fn body(subscription_id: &str, event: &Value) -> String {
    json!({ "subscription_id": subscription_id, "event": event }).to_string()
}

/// Quoted input is cut, never echoed whole.
fn cut(text: &str) -> String {
    clickclack_common::grpc::prefix_within(text, 64).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn what_may_be_asked_for() {
        let interest = Interest::new(
            &strings(&["message.created", " ", "message.created", "reaction.added"]),
            &[],
        )
        .unwrap();
        assert_eq!(
            interest.event_types,
            strings(&["message.created", "reaction.added"])
        );
        assert_eq!(
            Interest::new(&strings(&["message.created", "*"]), &[])
                .unwrap()
                .event_types,
            strings(&["*"])
        );
        assert_eq!(Interest::new(&[], &[]), Err(InterestError::NoEventTypes));
        assert_eq!(
            Interest::new(&strings(&["typing.started"]), &[]),
            Err(InterestError::UnknownEventType("typing.started".into())),
            "ephemeral events cannot be delivered in order or retried"
        );
        assert_eq!(
            Interest::new(&strings(&["*"]), &strings(&["msg_1"])),
            Err(InterestError::NotAChannel("msg_1".into()))
        );
        let long = "x".repeat(10_000);
        let Err(InterestError::UnknownEventType(quoted)) = Interest::new(&[long], &[]) else {
            panic!("refused");
        };
        assert_eq!(quoted.len(), 64);
        assert_eq!(
            Interest::new(&vec!["*".to_owned(); 101], &[]),
            Err(InterestError::TooMany)
        );
    }

    #[test]
    fn which_events_are_wanted() {
        let everything = Interest::new(&strings(&["*"]), &[]).unwrap();
        assert!(everything.wants("message.created", Some("chn_1")));
        assert!(everything.wants("member.joined", None));
        assert!(
            !everything.wants("typing.started", Some("chn_1")),
            "never ephemeral"
        );
        let some = Interest::new(&strings(&["message.created"]), &strings(&["chn_1"])).unwrap();
        assert!(some.wants("message.created", Some("chn_1")));
        assert!(!some.wants("message.created", Some("chn_2")));
        assert!(
            !some.wants("message.created", None),
            "a channel filter wants channels"
        );
        assert!(!some.wants("reaction.added", Some("chn_1")));
    }

    #[test]
    fn the_body_carries_the_event_as_sockets_see_it() {
        let event =
            json!({ "id": "evt_1", "cursor": "cur_7", "type": "message.created", "payload": {} });
        let body: Value = serde_json::from_str(&body("sub_1", &event)).unwrap();
        assert_eq!(body["subscription_id"], "sub_1");
        assert_eq!(body["event"], event);
    }
}
