//! The numbered stream of authentication changes and the gateways that
//! acknowledge them (tables `auth_change_head`, `auth_watchers`).

use super::schema::{auth_change_head, auth_watchers};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use std::time::Duration;

/// Takes the next change number and queues its NOTIFY on `channel`, both
/// inside the caller's transaction. The head row stays locked until the
/// transaction ends, so numbers are handed out in commit order.
pub fn announce(conn: &mut PgConnection, channel: &str, notice: &str) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Announced {
        #[diesel(sql_type = BigInt)]
        seq: i64,
    }
    let announced: Announced = diesel::sql_query(
        "WITH next AS (UPDATE auth_change_head SET seq = seq + 1 RETURNING seq)
         SELECT next.seq FROM next, LATERAL (SELECT pg_notify($1, $2 || ':' || next.seq)) AS sent",
    )
    .bind::<Text, _>(channel)
    .bind::<Text, _>(notice)
    .get_result(conn)?;
    Ok(announced.seq)
}

/// The newest committed change number.
pub fn head(conn: &mut PgConnection) -> QueryResult<i64> {
    auth_change_head::table
        .select(auth_change_head::seq)
        .first(conn)
}

/// Records that watcher `id` has applied every change up to `applied_seq`
/// and, with `lease`, grants it a lease from now. Returns the newest
/// committed change number, read after the lease was written.
pub fn report(
    conn: &mut PgConnection,
    id: &str,
    applied_seq: i64,
    lease: Option<Duration>,
) -> QueryResult<i64> {
    let lease_ms = lease.map_or(0, |lease| lease.as_millis() as i64);
    diesel::sql_query(
        "INSERT INTO auth_watchers (id, applied_seq, lease_until)
         VALUES ($1, $2, now() + $3 * interval '1 millisecond')
         ON CONFLICT (id) DO UPDATE SET
           applied_seq = GREATEST(auth_watchers.applied_seq, EXCLUDED.applied_seq),
           lease_until = CASE WHEN $3 > 0 THEN EXCLUDED.lease_until
                              ELSE auth_watchers.lease_until END",
    )
    .bind::<Text, _>(id)
    .bind::<BigInt, _>(applied_seq)
    .bind::<BigInt, _>(lease_ms)
    .execute(conn)?;
    head(conn)
}

/// A watcher that went away holds no lease any more.
pub fn forget(conn: &mut PgConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(auth_watchers::table.find(id)).execute(conn)
}

/// How many watchers hold a live lease but have not applied change `seq`.
pub fn behind(conn: &mut PgConnection, seq: i64) -> QueryResult<i64> {
    auth_watchers::table
        .filter(auth_watchers::lease_until.gt(now))
        .filter(auth_watchers::applied_seq.lt(seq))
        .count()
        .get_result(conn)
}

/// Drops rows of watchers whose lease ended long ago (a replica that
/// crashed could not forget its own).
pub fn sweep(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM auth_watchers WHERE lease_until < now() - interval '1 hour'")
        .execute(conn)
}
