//! Bot-token scopes and the bundles that expand to them (API.md §9).
//!
//! Bundles are expanded when a token is issued, so a token never gains a
//! capability that a later release adds to a bundle.

use std::collections::BTreeSet;
use std::fmt;

/// A concrete permission a token can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    WorkspacesRead,
    ChannelsRead,
    ChannelsWrite,
    MessagesRead,
    MessagesWrite,
    ThreadsRead,
    ThreadsWrite,
    DmsRead,
    DmsWrite,
    RealtimeRead,
    UploadsWrite,
    ProfileRead,
    CommandsWrite,
    AgentActivityWrite,
    /// Managing the bot's own event subscriptions (webhooks); in no bundle.
    EventSubscriptionsWrite,
}

impl Scope {
    pub const ALL: [Scope; 15] = [
        Scope::WorkspacesRead,
        Scope::ChannelsRead,
        Scope::ChannelsWrite,
        Scope::MessagesRead,
        Scope::MessagesWrite,
        Scope::ThreadsRead,
        Scope::ThreadsWrite,
        Scope::DmsRead,
        Scope::DmsWrite,
        Scope::RealtimeRead,
        Scope::UploadsWrite,
        Scope::ProfileRead,
        Scope::CommandsWrite,
        Scope::AgentActivityWrite,
        Scope::EventSubscriptionsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::WorkspacesRead => "workspaces:read",
            Scope::ChannelsRead => "channels:read",
            Scope::ChannelsWrite => "channels:write",
            Scope::MessagesRead => "messages:read",
            Scope::MessagesWrite => "messages:write",
            Scope::ThreadsRead => "threads:read",
            Scope::ThreadsWrite => "threads:write",
            Scope::DmsRead => "dms:read",
            Scope::DmsWrite => "dms:write",
            Scope::RealtimeRead => "realtime:read",
            Scope::UploadsWrite => "uploads:write",
            Scope::ProfileRead => "profile:read",
            Scope::CommandsWrite => "commands:write",
            Scope::AgentActivityWrite => "agent_activity:write",
            Scope::EventSubscriptionsWrite => "event_subscriptions:write",
        }
    }

    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == name)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `bot:read`: everything a read-only bot needs.
/// What a human session may do: everything a person does in the UI. Bot-only
/// abilities (command menus, agent activity) are left out.
pub fn human() -> BTreeSet<Scope> {
    Scope::ALL
        .into_iter()
        .filter(|scope| !matches!(scope, Scope::CommandsWrite | Scope::AgentActivityWrite))
        .collect()
}

pub const BOT_READ: &[Scope] = &[
    Scope::WorkspacesRead,
    Scope::ChannelsRead,
    Scope::MessagesRead,
    Scope::ThreadsRead,
    Scope::DmsRead,
    Scope::RealtimeRead,
    Scope::ProfileRead,
];

/// `bot:write` adds posting on top of `bot:read`.
pub const BOT_WRITE_EXTRA: &[Scope] = &[
    Scope::MessagesWrite,
    Scope::ThreadsWrite,
    Scope::DmsWrite,
    Scope::UploadsWrite,
    Scope::CommandsWrite,
];

/// `bot:admin` adds channel management on top of `bot:write`.
pub const BOT_ADMIN_EXTRA: &[Scope] = &[Scope::ChannelsWrite];

/// The bundle a token gets when none is named.
pub const DEFAULT_REQUEST: &str = "bot:write";

/// A scope request named something that is neither a scope nor a bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scope {0:?} (use bot:read, bot:write, bot:admin or concrete scopes such as messages:write)"
)]
pub struct UnknownScope(pub String);

/// Expands bundles and comma-separated lists into a set of concrete scopes.
/// Each item may itself hold several comma- or space-separated names.
/// An empty request means [`DEFAULT_REQUEST`].
pub fn expand<S: AsRef<str>>(requested: &[S]) -> Result<BTreeSet<Scope>, UnknownScope> {
    let names: Vec<&str> = requested
        .iter()
        .flat_map(|item| item.as_ref().split([',', ' ']))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    let names = if names.is_empty() {
        vec![DEFAULT_REQUEST]
    } else {
        names
    };

    let mut scopes = BTreeSet::new();
    for name in names {
        match name {
            "bot:read" => scopes.extend(BOT_READ),
            "bot:write" => scopes.extend(BOT_READ.iter().chain(BOT_WRITE_EXTRA)),
            "bot:admin" => scopes.extend(
                BOT_READ
                    .iter()
                    .chain(BOT_WRITE_EXTRA)
                    .chain(BOT_ADMIN_EXTRA),
            ),
            other => {
                scopes.insert(Scope::parse(other).ok_or_else(|| UnknownScope(other.to_owned()))?);
            }
        }
    }
    Ok(scopes)
}

/// Parses stored scope names, ignoring any this build does not know (a newer
/// release may have written them; an unknown name grants nothing).
pub fn parse_stored<S: AsRef<str>>(stored: &[S]) -> BTreeSet<Scope> {
    stored
        .iter()
        .filter_map(|name| Scope::parse(name.as_ref()))
        .collect()
}

pub fn names(scopes: &BTreeSet<Scope>) -> Vec<String> {
    scopes
        .iter()
        .map(|scope| scope.as_str().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(request: &str) -> Vec<&'static str> {
        expand(&[request])
            .unwrap()
            .into_iter()
            .map(Scope::as_str)
            .collect()
    }

    fn sorted(mut names: Vec<&'static str>) -> Vec<&'static str> {
        names.sort_by_key(|name| Scope::parse(name).unwrap());
        names
    }

    #[test]
    fn bot_read_expands_exactly_as_the_api_lists() {
        assert_eq!(
            expanded("bot:read"),
            sorted(vec![
                "workspaces:read",
                "channels:read",
                "messages:read",
                "threads:read",
                "dms:read",
                "realtime:read",
                "profile:read",
            ])
        );
    }

    #[test]
    fn bot_write_is_bot_read_plus_posting() {
        assert_eq!(
            expanded("bot:write"),
            sorted(vec![
                "workspaces:read",
                "channels:read",
                "messages:read",
                "threads:read",
                "dms:read",
                "realtime:read",
                "profile:read",
                "messages:write",
                "threads:write",
                "dms:write",
                "uploads:write",
                "commands:write",
            ])
        );
    }

    #[test]
    fn bot_admin_is_bot_write_plus_channels_write() {
        let mut want = expanded("bot:write");
        want.push("channels:write");
        assert_eq!(expanded("bot:admin"), sorted(want));
    }

    #[test]
    fn agent_activity_and_event_subscriptions_are_in_no_bundle() {
        for only_asked in ["agent_activity:write", "event_subscriptions:write"] {
            for bundle in ["bot:read", "bot:write", "bot:admin"] {
                assert!(!expanded(bundle).contains(&only_asked), "{bundle}");
            }
            assert_eq!(expanded(only_asked), vec![only_asked]);
        }
    }

    #[test]
    fn explicit_comma_separated_scopes_are_kept_as_given() {
        assert_eq!(
            expanded("workspaces:read, messages:read,realtime:read"),
            sorted(vec!["workspaces:read", "messages:read", "realtime:read"])
        );
    }

    #[test]
    fn unknown_scope_is_rejected_by_name() {
        let err = expand(&["bot:read,messages:delete"]).unwrap_err();
        assert_eq!(err, UnknownScope("messages:delete".into()));
        assert!(err.to_string().contains("messages:delete"));
    }

    #[test]
    fn empty_request_means_bot_write() {
        let empty: [&str; 0] = [];
        assert_eq!(expand(&empty).unwrap(), expand(&["bot:write"]).unwrap());
        assert_eq!(expand(&[" , "]).unwrap(), expand(&["bot:write"]).unwrap());
    }

    #[test]
    fn stored_names_round_trip_and_unknown_ones_grant_nothing() {
        let scopes = expand(&["bot:admin"]).unwrap();
        assert_eq!(parse_stored(&names(&scopes)), scopes);
        assert!(parse_stored(&["future:scope"]).is_empty());
    }
}
