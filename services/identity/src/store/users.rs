use super::schema::users;
use chrono::{DateTime, Utc};
use clickclack_common::ids::UserId;
use clickclack_common::roles::UserKind;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: UserId,
    pub kind: UserKind,
    pub display_name: String,
    pub handle: String,
    pub email: Option<String>,
    pub avatar_url: String,
    pub owner_user_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, user: &UserRow) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(UserRow::as_returning())
        .get_result(conn)
}

/// Sets the given profile fields; `None` leaves a field as it is.
pub fn update_profile(
    conn: &mut PgConnection,
    id: &UserId,
    display_name: Option<&str>,
    handle: Option<&str>,
    avatar_url: Option<&str>,
) -> QueryResult<UserRow> {
    let current: UserRow = users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)?;
    diesel::update(users::table.find(id))
        .set((
            users::display_name.eq(display_name.unwrap_or(&current.display_name)),
            users::handle.eq(handle.unwrap_or(&current.handle)),
            users::avatar_url.eq(avatar_url.unwrap_or(&current.avatar_url)),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: &UserId) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_many(conn: &mut PgConnection, ids: &[UserId]) -> QueryResult<Vec<UserRow>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select(UserRow::as_select())
        .load(conn)
}

pub fn find_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<UserRow>> {
    users::table
        .order(users::created_at.asc())
        .select(UserRow::as_select())
        .load(conn)
}
