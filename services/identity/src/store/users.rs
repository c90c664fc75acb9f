use super::schema::users;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: String,
    pub kind: String,
    pub display_name: String,
    pub handle: String,
    pub email: Option<String>,
    pub avatar_url: String,
    pub owner_user_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, user: &UserRow) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(UserRow::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_many(conn: &mut PgConnection, ids: &[String]) -> QueryResult<Vec<UserRow>> {
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
