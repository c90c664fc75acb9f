use super::conflict_on_duplicate;
use super::rules::{self, HUMAN};
use crate::error::Result;
use crate::store::users::{self, UserRow};
use chrono::Utc;
use clickclack_common::ids;
use diesel::PgConnection;

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
    let handle = if handle.trim().is_empty() {
        rules::derive_handle(email.split('@').next().unwrap_or_default())?
    } else {
        rules::normalize_handle(handle)?
    };
    Ok(UserRow {
        id: ids::new_id(ids::USER),
        kind: HUMAN.into(),
        display_name,
        handle,
        email: Some(email),
        avatar_url: String::new(),
        owner_user_id: None,
        created_at: Utc::now(),
    })
}
