//! Pure validation rules: input is parsed here once, so the rest of the
//! service only ever sees normalised values.

use crate::error::{IdentityError, Result};

pub use clickclack_common::roles::{Role, UserKind};

/// Roles an operator may give a human; empty means `member`.
pub fn parse_human_role(role: &str) -> Result<Role> {
    match role.trim().to_ascii_lowercase().as_str() {
        "" | "member" => Ok(Role::Member),
        "owner" => Ok(Role::Owner),
        "moderator" => Ok(Role::Moderator),
        "guest" => Ok(Role::Guest),
        other => Err(IdentityError::Invalid(format!(
            "unknown role {other:?} (use owner, moderator, member or guest)"
        ))),
    }
}

/// Trims, lowercases and drops a leading `@`; then checks
/// `^[a-z0-9][a-z0-9_-]{1,31}$` (API.md §2).
pub fn normalize_handle(raw: &str) -> Result<String> {
    let handle = raw.trim().trim_start_matches('@').to_lowercase();
    let mut bytes = handle.bytes();
    let valid_first = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let valid_rest =
        bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid_first && valid_rest && (2..=32).contains(&handle.len()) {
        Ok(handle)
    } else {
        Err(IdentityError::Invalid(format!(
            "invalid handle {raw:?}: use 2-32 characters a-z, 0-9, _ or -, starting with a letter or digit"
        )))
    }
}

/// A handle made from free text (a display name or an email's local part).
pub fn derive_handle(source: &str) -> Result<String> {
    let mut handle = String::new();
    for c in source.trim().to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            handle.push(c);
        } else if !handle.is_empty() && !handle.ends_with('-') {
            handle.push('-');
        }
        if handle.len() == 32 {
            break;
        }
    }
    let handle = handle.trim_end_matches('-');
    normalize_handle(handle).map_err(|_| {
        IdentityError::Invalid(format!(
            "cannot make a handle from {source:?}; pass one explicitly"
        ))
    })
}

/// An absolute http(s) URL, or nothing (clears the field): what avatars and
/// workspace icons may be, so a client rendering them cannot be handed a
/// `javascript:` URL.
pub fn is_http_url_or_empty(url: &str) -> bool {
    url.is_empty() || url.starts_with("https://") || url.starts_with("http://")
}

/// Required, trimmed, at most 80 bytes.
pub fn validate_display_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(IdentityError::Invalid("display name is required".into()));
    }
    if name.len() > 80 {
        return Err(IdentityError::Invalid(
            "display name must be at most 80 bytes".into(),
        ));
    }
    Ok(name.to_owned())
}

/// Trimmed and lowercased; one `@` with text on both sides.
pub fn normalize_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(IdentityError::Invalid(format!("invalid email {raw:?}")))
    }
}

/// Workspace slugs: `^[a-z0-9][a-z0-9-]{0,62}$`. No `_`, so a slug can never
/// look like a `wsp_` id.
pub fn validate_slug(raw: &str) -> Result<String> {
    let slug = raw.trim().to_lowercase();
    let mut bytes = slug.bytes();
    let valid_first = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let valid_rest = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid_first && valid_rest && slug.len() <= 63 {
        Ok(slug)
    } else {
        Err(IdentityError::Invalid(format!(
            "invalid workspace slug {raw:?}: use 1-63 characters a-z, 0-9 or -, starting with a letter or digit"
        )))
    }
}

/// A slug made from a workspace name.
pub fn derive_slug(name: &str) -> Result<String> {
    let slug = derive_handle(name)
        .map(|handle| handle.replace('_', "-"))
        .map_err(|_| {
            IdentityError::Invalid(format!(
                "cannot make a slug from {name:?}; pass one explicitly"
            ))
        })?;
    validate_slug(&slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_trimmed_lowercased_and_lose_a_leading_at() {
        assert_eq!(normalize_handle("  @Deploy-Bot ").unwrap(), "deploy-bot");
        assert_eq!(normalize_handle("a1").unwrap(), "a1");
    }

    #[test]
    fn invalid_handles_are_refused() {
        for bad in [
            "",
            "a",
            "-abc",
            "_abc",
            "has space",
            "dots.are.out",
            &"x".repeat(33),
        ] {
            assert!(normalize_handle(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn handles_derive_from_names_and_emails() {
        assert_eq!(
            derive_handle("Peter's OpenClaw").unwrap(),
            "peter-s-openclaw"
        );
        assert_eq!(derive_handle("ada.lovelace").unwrap(), "ada-lovelace");
        assert!(derive_handle("!!").is_err());
    }

    #[test]
    fn display_names_are_required_and_bounded() {
        assert_eq!(validate_display_name("  Ada ").unwrap(), "Ada");
        assert!(validate_display_name("   ").is_err());
        assert!(validate_display_name(&"é".repeat(41)).is_err());
        assert!(validate_display_name(&"e".repeat(80)).is_ok());
    }

    #[test]
    fn emails_and_slugs_are_checked() {
        assert_eq!(
            normalize_email(" Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        assert!(normalize_email("no-at-sign").is_err());
        assert!(normalize_email("a@b@c").is_err());
        assert_eq!(validate_slug("Acme-1").unwrap(), "acme-1");
        assert!(validate_slug("wsp_x").is_err());
        assert_eq!(derive_slug("My Team").unwrap(), "my-team");
    }

    #[test]
    fn operators_give_humans_only_human_roles() {
        assert!(parse_human_role("admin").is_err());
        assert!(parse_human_role("bot").is_err());
        assert_eq!(parse_human_role("").unwrap(), Role::Member);
        assert_eq!(parse_human_role(" Moderator ").unwrap(), Role::Moderator);
    }
}
