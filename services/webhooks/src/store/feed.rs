//! The feeder's place in realtime's log.

use super::schema::feed_position;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

/// The cursor after which the feeder goes on (none before its first event).
pub fn cursor(conn: &mut PgConnection) -> QueryResult<Option<String>> {
    feed_position::table
        .select(feed_position::cursor)
        .first(conn)
        .optional()
}

/// Moves the place forward to `cursor` (at log `position`); an older place
/// never overwrites a newer one.
pub fn advance(conn: &mut PgConnection, cursor: &str, position: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO feed_position (singleton, cursor, position) VALUES (TRUE, $1, $2)
         ON CONFLICT (singleton) DO UPDATE
         SET cursor = EXCLUDED.cursor, position = EXCLUDED.position, updated_at = now()
         WHERE feed_position.position < EXCLUDED.position",
    )
    .bind::<Text, _>(cursor)
    .bind::<BigInt, _>(position)
    .execute(conn)
}

/// Forgets the place: the next follow starts at the log's tail.
pub fn forget(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::delete(feed_position::table).execute(conn)
}

/// The log position the feeder has queued up to (none before its first event).
pub fn position(conn: &mut PgConnection) -> QueryResult<Option<i64>> {
    feed_position::table
        .select(feed_position::position)
        .first(conn)
        .optional()
}
