use super::conflict_on_duplicate;
use super::rules::{self, UserKind};
use crate::error::{IdentityError, Result};
use crate::store::users::{self, UserRow};
use chrono::Utc;
use clickclack_common::ids::UserId;
use diesel::PgConnection;

/// The users with these ids (at most [`MAX_USERS_PER_LOOKUP`]); unknown
/// ids are left out.
pub fn find_many(conn: &mut PgConnection, ids: &[UserId]) -> Result<Vec<UserRow>> {
    if ids.len() > MAX_USERS_PER_LOOKUP {
        return Err(IdentityError::Invalid(format!(
            "at most {MAX_USERS_PER_LOOKUP} ids per call"
        )));
    }
    Ok(users::find_many(conn, ids)?)
}

/// The most users one lookup may name (a page of messages names far fewer).
pub const MAX_USERS_PER_LOOKUP: usize = 1000;

/// Every user of the deployment (operators' listing).
pub fn list(conn: &mut PgConnection) -> Result<Vec<UserRow>> {
    Ok(users::list(conn)?)
}

/// Creates a human user. The handle defaults to the email's local part.
pub fn create_human(
    conn: &mut PgConnection,
    display_name: &str,
    email: &str,
    handle: &str,
) -> Result<UserRow> {
    let row = new_human(display_name, email, handle)?;
    users::insert(conn, &row).map_err(|e| {
        conflict_on_duplicate(e, || {
            format!(
                "a user with email {} already exists",
                row.email.as_deref().unwrap_or_default()
            )
        })
    })
}

/// Validates a new human without touching the database.
pub fn new_human(display_name: &str, email: &str, handle: &str) -> Result<UserRow> {
    let display_name = rules::validate_display_name(display_name)?;
    let email = rules::normalize_email(email)?;
    let id = UserId::generate();
    let handle = if handle.trim().is_empty() {
        // A local part too short or odd for a handle (`x@…`) must not stop
        // someone signing up: they get `user-<8 id characters>`, editable later.
        let id = id.as_str();
        rules::derive_handle(email.split('@').next().unwrap_or_default())
            .unwrap_or_else(|_| format!("user-{}", &id[id.len() - 8..]))
    } else {
        rules::normalize_handle(handle)?
    };
    Ok(UserRow {
        id,
        kind: UserKind::Human,
        display_name,
        handle,
        email: Some(email),
        avatar_url: String::new(),
        owner_user_id: None,
        created_at: Utc::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::new_human;

    #[test]
    fn an_email_too_short_for_a_handle_still_signs_up() {
        let user = new_human("X", "x@example.com", "").expect("a user");
        assert!(user.handle.starts_with("user-"), "{}", user.handle);
        assert_eq!(user.handle.len(), 13);
        let named = new_human("Ada", "ada.l@example.com", "").expect("a user");
        assert_eq!(named.handle, "ada-l");
    }
}
