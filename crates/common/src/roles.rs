//! What a user is and what a member may do, as types: a `kind` or `role`
//! string from the database, a token or the wire is parsed here once, so
//! the code behind it matches on variants instead of comparing strings.

use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

/// A user is a person or a bot (API.md §2: `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum UserKind {
    Human,
    Bot,
}

impl UserKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            UserKind::Human => "human",
            UserKind::Bot => "bot",
        }
    }

    /// `None` for anything that is not a user's kind (a caller kind such as
    /// `gateway` or `operator`, say).
    pub fn parse(kind: &str) -> Option<UserKind> {
        match kind {
            "human" => Some(UserKind::Human),
            "bot" => Some(UserKind::Bot),
            _ => None,
        }
    }
}

/// A member's role in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum Role {
    Owner,
    Moderator,
    Member,
    Guest,
    Bot,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Moderator => "moderator",
            Role::Member => "member",
            Role::Guest => "guest",
            Role::Bot => "bot",
        }
    }

    /// A role as stored or signed; anything unknown counts as the least
    /// privileged human role, `member`.
    pub fn from_stored(role: &str) -> Role {
        match role {
            "owner" => Role::Owner,
            "moderator" => Role::Moderator,
            "guest" => Role::Guest,
            "bot" => Role::Bot,
            _ => Role::Member,
        }
    }

    /// Owners and moderators manage the workspace: its service bots,
    /// invites, settings.
    pub fn manages_workspace(self) -> bool {
        matches!(self, Role::Owner | Role::Moderator)
    }
}

// Both are stored, signed and sent as their names, so rows, events and
// audit details carry the types themselves.

impl std::fmt::Display for UserKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for UserKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl ToSql<Text, Pg> for UserKind {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
    }
}

impl FromSql<Text, Pg> for UserKind {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<UserKind> {
        let name = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        UserKind::parse(&name).ok_or_else(|| format!("unknown user kind {name:?}").into())
    }
}

impl ToSql<Text, Pg> for Role {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
    }
}

impl FromSql<Text, Pg> for Role {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Role> {
        <String as FromSql<Text, Pg>>::from_sql(bytes).map(|name| Role::from_stored(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_roles_round_trip_through_their_names() {
        for kind in [UserKind::Human, UserKind::Bot] {
            assert_eq!(UserKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(UserKind::parse("operator"), None);
        for role in [
            Role::Owner,
            Role::Moderator,
            Role::Member,
            Role::Guest,
            Role::Bot,
        ] {
            assert_eq!(Role::from_stored(role.as_str()), role);
        }
        assert_eq!(Role::from_stored("admin"), Role::Member);
    }

    #[test]
    fn only_owners_and_moderators_manage_a_workspace() {
        assert!(Role::Owner.manages_workspace());
        assert!(Role::Moderator.manages_workspace());
        assert!(!Role::Member.manages_workspace());
        assert!(!Role::Guest.manages_workspace());
        assert!(!Role::Bot.manages_workspace());
    }
}
