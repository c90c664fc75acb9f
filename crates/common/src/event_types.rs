//! The catalogue of every event a client can receive (API.md §8), durable
//! (stored with a cursor, replayed) or not: what `GET /api/event-types`
//! lists and what event subscriptions may ask for.

/// (type, durable, description) of every event a client can receive.
pub const EVENT_TYPES: &[(&str, bool, &str)] = &[
    (
        "message.created",
        true,
        "A top-level message was posted in a channel or DM.",
    ),
    ("message.updated", true, "A message's body was edited."),
    (
        "message.deleted",
        true,
        "A message was deleted (its body is cleared).",
    ),
    (
        "thread.reply_created",
        true,
        "A reply was posted in a thread.",
    ),
    (
        "thread.state_updated",
        true,
        "A thread's reply count or last reply changed.",
    ),
    ("reaction.added", true, "Someone reacted to a message."),
    ("reaction.removed", true, "Someone removed their reaction."),
    ("channel.created", true, "A channel was created."),
    (
        "channel.updated",
        true,
        "A channel was renamed, archived or relabelled.",
    ),
    (
        "channel.read",
        true,
        "The reader's read position moved (private to them).",
    ),
    (
        "dm.read",
        true,
        "The reader's DM read position moved (private to them).",
    ),
    (
        "member.joined",
        true,
        "A human or bot joined the workspace.",
    ),
    ("member.removed", true, "A member left or was removed."),
    (
        "event_subscription.disabled",
        true,
        "An event subscription was disabled by its endpoint (410) or five days of failures (private to its bot's owner and its maker).",
    ),
    (
        "workspace.updated",
        true,
        "The workspace's name, slug, icon or owner changed.",
    ),
    (
        "typing.started",
        false,
        "Someone started typing (ephemeral).",
    ),
    (
        "typing.stopped",
        false,
        "Someone stopped typing (ephemeral).",
    ),
    (
        "presence.changed",
        false,
        "Someone's presence changed (ephemeral).",
    ),
    (
        "agent.progress",
        false,
        "A bot reports progress on a task (ephemeral).",
    ),
    (
        "bot_command.updated",
        false,
        "A bot published a new command menu (live only).",
    ),
    (
        "bot.membership_removed",
        false,
        "A bot was removed from the workspace (live only).",
    ),
    (
        COMMAND_INVOKED,
        false,
        "Someone invoked a socket-delivered slash command (live only, to its bot alone).",
    ),
    (
        COMMAND_RESPONSE,
        false,
        "A slash command's or button press's ephemeral reply or failure (live only, to its invoker alone).",
    ),
    (
        ACTION_INVOKED,
        false,
        "Someone pressed a button on a socket-delivered bot's message (live only, to its bot alone).",
    ),
];

/// A socket command's invocation, to its bot's sockets.
pub const COMMAND_INVOKED: &str = "command.invoked";
/// An ephemeral reply to a command (or why it failed), to the invoker's
/// sockets.
pub const COMMAND_RESPONSE: &str = "command.response";

/// A press of a bot message's button, to the bot's sockets.
pub const ACTION_INVOKED: &str = "action.invoked";

/// The durable event types, in catalogue order.
pub fn durable() -> impl Iterator<Item = &'static str> {
    EVENT_TYPES
        .iter()
        .filter(|(_, durable, _)| *durable)
        .map(|(kind, _, _)| *kind)
}

/// Whether `kind` is a durable event type.
pub fn is_durable(kind: &str) -> bool {
    durable().any(|durable| durable == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_types_are_known_and_ephemeral_ones_are_not_durable() {
        assert!(is_durable("message.created"));
        assert!(is_durable("member.removed"));
        assert!(!is_durable("typing.started"));
        assert!(!is_durable("nope"));
        let mut seen = std::collections::HashSet::new();
        assert!(
            EVENT_TYPES.iter().all(|(kind, _, _)| seen.insert(*kind)),
            "no type twice"
        );
    }
}
