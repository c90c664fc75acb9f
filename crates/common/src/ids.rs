//! Prefixed, time-sortable identifiers (`usr_01j...`).
//!
//! Clients skip lookups for values starting with `wsp_` / `chn_`, so the
//! prefixes are part of the wire contract (API.md §0). The suffix is a
//! lowercase ULID: URL-safe and sortable by creation time.

pub const USER: &str = "usr_";
pub const WORKSPACE: &str = "wsp_";
pub const CHANNEL: &str = "chn_";
pub const MESSAGE: &str = "msg_";
pub const DM: &str = "dm_";
pub const UPLOAD: &str = "upl_";
pub const EVENT: &str = "evt_";
pub const BOT_TOKEN: &str = "btok_";
/// Internal ids (never on the wire as API ids, but prefixed all the same).
pub const SESSION: &str = "ses_";
pub const MAGIC_LINK: &str = "mgl_";
pub const AUDIT: &str = "aud_";
pub const BOT_COMMAND: &str = "bcm_";
pub const SETUP_CODE: &str = "bsc_";
pub const INVITE: &str = "inv_";
/// Event subscriptions and their delivery attempts (upstream's prefixes).
pub const EVENT_SUBSCRIPTION: &str = "sub_";
pub const DELIVERY_ATTEMPT: &str = "eda_";
pub const INCOMING_HOOK: &str = "ihk_";
pub const SLASH_COMMAND: &str = "cmd_";
pub const COMMAND_INVOCATION: &str = "sci_";
/// A bot's interactivity endpoint (where presses of its buttons go).
pub const INTERACTIVITY: &str = "itx_";
/// An app bound to a workspace and one of its bots (upstream's prefix).
pub const APP_INSTALLATION: &str = "app_";

/// A fresh id with the given prefix.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", new_ulid())
}

/// A fresh lowercase ULID with no prefix (correlation ids, scratch names):
/// the current time in milliseconds, then 80 random bits. (Built from parts
/// so that `ulid` needs no random source of its own: its `std` feature would
/// link a second major version of `rand`.)
pub fn new_ulid() -> String {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    ulid::Ulid::from_parts(now_ms, rand::random::<u128>())
        .to_string()
        .to_lowercase()
}

/// True when `value` is `prefix` followed by URL-safe id characters.
pub fn has_prefix(value: &str, prefix: &str) -> bool {
    value.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 64
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// Declares an id type for one prefix: parsed once where the id arrives
/// (`parse` checks the prefix and characters), then carried as itself, so a
/// user id cannot be passed where a workspace id belongs. Values read back
/// from the database are trusted as they are: only this code wrote them.
macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:expr) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            serde::Serialize,
            diesel::AsExpression,
            diesel::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// The id in `value`, or `None` when `value` is not one.
            pub fn parse(value: &str) -> Option<$name> {
                has_prefix(value, $prefix).then(|| $name(value.to_owned()))
            }

            /// A fresh id.
            pub fn generate() -> $name {
                $name(new_id($prefix))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        // Reads as the string it is, so it goes wherever a `&str` does (SQL
        // text, event fields, messages); the other way needs `parse`.
        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.0.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<$name> {
                <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(bytes)
                .map($name)
            }
        }
    };
}

prefixed_id!(
    /// A user's id (`usr_...`): a person or a bot.
    UserId,
    USER
);
prefixed_id!(
    /// A workspace's id (`wsp_...`).
    WorkspaceId,
    WORKSPACE
);

/// How a request names a workspace: by id or by slug (API.md: `{id}` in
/// workspace paths and `--workspace` take either). Slugs have no `_`, so a
/// value that parses as a `wsp_` id is never a slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceKey {
    Id(WorkspaceId),
    Slug(String),
}

impl WorkspaceKey {
    /// `None` for an empty (or all-blank) value.
    pub fn parse(value: &str) -> Option<WorkspaceKey> {
        let value = value.trim();
        if value.is_empty() {
            None
        } else if let Some(id) = WorkspaceId::parse(value) {
            Some(WorkspaceKey::Id(id))
        } else {
            Some(WorkspaceKey::Slug(value.to_owned()))
        }
    }
}

impl From<WorkspaceId> for WorkspaceKey {
    fn from(id: WorkspaceId) -> WorkspaceKey {
        WorkspaceKey::Id(id)
    }
}

impl std::fmt::Display for WorkspaceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkspaceKey::Id(id) => id.fmt(f),
            WorkspaceKey::Slug(slug) => f.write_str(slug),
        }
    }
}

/// The id of something that lives in one workspace and is named in API
/// paths (a channel, message, DM or upload), told apart by its prefix once,
/// where the id arrives. Whatever parses to none of them names nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceId<'a> {
    Channel(&'a str),
    Message(&'a str),
    Conversation(&'a str),
    Upload(&'a str),
}

impl<'a> ResourceId<'a> {
    pub fn parse(id: &'a str) -> Option<ResourceId<'a>> {
        let is = |prefix| has_prefix(id, prefix);
        if is(CHANNEL) {
            Some(ResourceId::Channel(id))
        } else if is(MESSAGE) {
            Some(ResourceId::Message(id))
        } else if is(DM) {
            Some(ResourceId::Conversation(id))
        } else if is(UPLOAD) {
            Some(ResourceId::Upload(id))
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'a str {
        match self {
            ResourceId::Channel(id)
            | ResourceId::Message(id)
            | ResourceId::Conversation(id)
            | ResourceId::Upload(id) => id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_are_told_apart_by_prefix() {
        assert_eq!(
            ResourceId::parse("chn_01abc"),
            Some(ResourceId::Channel("chn_01abc"))
        );
        assert_eq!(
            ResourceId::parse("msg_01abc"),
            Some(ResourceId::Message("msg_01abc"))
        );
        assert_eq!(
            ResourceId::parse("dm_01abc"),
            Some(ResourceId::Conversation("dm_01abc"))
        );
        assert_eq!(
            ResourceId::parse("upl_01abc"),
            Some(ResourceId::Upload("upl_01abc"))
        );
        assert_eq!(ResourceId::parse("usr_01abc"), None);
        assert_eq!(ResourceId::parse("chn_"), None);
        assert_eq!(ResourceId::parse("chn_a/b"), None);
        assert_eq!(
            ResourceId::parse("chn_01abc").unwrap().as_str(),
            "chn_01abc"
        );
    }

    #[test]
    fn new_ids_carry_prefix_and_sort_by_creation() {
        let first = new_id(USER);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_id(USER);
        assert!(has_prefix(&first, USER));
        assert_eq!(first.len(), USER.len() + 26);
        assert_eq!(first, first.to_lowercase());
        assert!(first < second);
    }

    #[test]
    fn typed_ids_parse_only_their_own_prefix() {
        assert_eq!(UserId::parse("usr_01abc").unwrap().as_str(), "usr_01abc");
        assert_eq!(UserId::parse("wsp_01abc"), None);
        assert_eq!(UserId::parse("usr_"), None);
        assert_eq!(WorkspaceId::parse("usr_01abc"), None);
        assert!(UserId::generate().as_str().starts_with(USER));
        assert_eq!(UserId::parse("usr_x").unwrap(), "usr_x");
    }

    #[test]
    fn a_workspace_is_named_by_id_or_slug() {
        assert_eq!(
            WorkspaceKey::parse(" wsp_01abc "),
            Some(WorkspaceKey::Id(WorkspaceId::parse("wsp_01abc").unwrap()))
        );
        assert_eq!(
            WorkspaceKey::parse("default"),
            Some(WorkspaceKey::Slug("default".into()))
        );
        assert_eq!(WorkspaceKey::parse("  "), None);
        assert_eq!(
            WorkspaceKey::parse("default").unwrap().to_string(),
            "default"
        );
    }

    #[test]
    fn has_prefix_rejects_other_prefixes_and_unsafe_characters() {
        assert!(!has_prefix("wsp_abc", USER));
        assert!(!has_prefix("usr_", USER));
        assert!(!has_prefix("usr_a/b", USER));
        assert!(!has_prefix("usr_a b", USER));
        assert!(has_prefix("usr_01abc-_x", USER));
    }
}
