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
    fn has_prefix_rejects_other_prefixes_and_unsafe_characters() {
        assert!(!has_prefix("wsp_abc", USER));
        assert!(!has_prefix("usr_", USER));
        assert!(!has_prefix("usr_a/b", USER));
        assert!(!has_prefix("usr_a b", USER));
        assert!(has_prefix("usr_01abc-_x", USER));
    }
}
