use super::schema::reactions;
use chrono::Utc;
use clickclack_common::ids::UserId;
use diesel::dsl::count_star;
use diesel::prelude::*;

/// Adds the reaction; returns false when the user had already reacted so.
pub fn add(
    conn: &mut PgConnection,
    message_id: &str,
    user_id: &UserId,
    emoji: &str,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(reactions::table)
        .values((
            reactions::message_id.eq(message_id),
            reactions::user_id.eq(user_id),
            reactions::emoji.eq(emoji),
            reactions::created_at.eq(Utc::now()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(inserted == 1)
}

/// Removes the reaction; returns false when there was none.
pub fn remove(
    conn: &mut PgConnection,
    message_id: &str,
    user_id: &UserId,
    emoji: &str,
) -> QueryResult<bool> {
    let deleted =
        diesel::delete(reactions::table.find((message_id, user_id, emoji))).execute(conn)?;
    Ok(deleted == 1)
}

/// (message id, emoji, count) for the messages, in first-reaction order.
pub fn counts(
    conn: &mut PgConnection,
    message_ids: &[String],
) -> QueryResult<Vec<(String, String, i64)>> {
    reactions::table
        .filter(reactions::message_id.eq_any(message_ids))
        .group_by((reactions::message_id, reactions::emoji))
        .select((reactions::message_id, reactions::emoji, count_star()))
        .order(diesel::dsl::min(reactions::created_at))
        .load(conn)
}

/// (message id, emoji) pairs `user_id` reacted with.
pub fn mine(
    conn: &mut PgConnection,
    message_ids: &[String],
    user_id: &UserId,
) -> QueryResult<Vec<(String, String)>> {
    reactions::table
        .filter(reactions::message_id.eq_any(message_ids))
        .filter(reactions::user_id.eq(user_id))
        .select((reactions::message_id, reactions::emoji))
        .load(conn)
}
