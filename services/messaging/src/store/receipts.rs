use super::schema::read_receipts;
use chrono::{DateTime, Utc};
use clickclack_common::ids::UserId;
use diesel::prelude::*;
use diesel::upsert::excluded;

/// Moves the user's read position forward to `seq` (never backwards).
pub fn advance(
    conn: &mut PgConnection,
    user_id: &UserId,
    target_id: &str,
    seq: i64,
) -> QueryResult<(i64, DateTime<Utc>)> {
    let now = Utc::now();
    diesel::insert_into(read_receipts::table)
        .values((
            read_receipts::user_id.eq(user_id),
            read_receipts::target_id.eq(target_id),
            read_receipts::seq.eq(seq),
            read_receipts::updated_at.eq(now),
        ))
        .on_conflict((read_receipts::user_id, read_receipts::target_id))
        .do_update()
        .set((
            read_receipts::seq.eq(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "GREATEST(read_receipts.seq, excluded.seq)",
            )),
            read_receipts::updated_at.eq(excluded(read_receipts::updated_at)),
        ))
        .returning((read_receipts::seq, read_receipts::updated_at))
        .get_result(conn)
}

/// The user's read positions for the targets.
pub fn positions(
    conn: &mut PgConnection,
    user_id: &UserId,
    target_ids: &[String],
) -> QueryResult<Vec<(String, i64)>> {
    read_receipts::table
        .filter(read_receipts::user_id.eq(user_id))
        .filter(read_receipts::target_id.eq_any(target_ids))
        .select((read_receipts::target_id, read_receipts::seq))
        .load(conn)
}
