//! The delivery queue, in Postgres so it survives restarts of everything.
//!
//! A subscription's deliveries go out one at a time, in log order: only the
//! oldest open delivery of each subscription (its head) can be claimed, so
//! a slow or dead endpoint holds back its own deliveries and nobody
//! else's. Claiming takes due heads with `FOR UPDATE SKIP LOCKED` and marks
//! them `sending` with a lease in the same statement, so replicas share the
//! work and, while the lease holds, never send the same delivery twice. A
//! worker that dies mid-attempt loses its lease and the delivery is taken
//! over (at least once, never lost).

use super::schema::{deliveries, delivery_attempts};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Text};
use std::time::Duration;

/// An event to deliver to one subscription.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = deliveries)]
pub struct NewDelivery {
    pub subscription_id: String,
    pub event_id: String,
    pub position: i64,
    pub body: String,
}

/// A delivery a worker now holds.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub subscription_id: String,
    #[diesel(sql_type = Text)]
    pub event_id: String,
    #[diesel(sql_type = BigInt)]
    pub position: i64,
    #[diesel(sql_type = Text)]
    pub body: String,
    /// This attempt's number (1 for the first).
    #[diesel(sql_type = Integer)]
    pub attempt: i32,
}

/// How an attempt leaves its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Delivered,
    /// Back in the queue, due at this time.
    RetryAt(DateTime<Utc>),
    /// Logged as failed for good; the subscription's next delivery is next.
    Failed,
}

/// Queues `rows`; an event already queued for a subscription is skipped.
/// Answers how many were new.
pub fn enqueue(conn: &mut PgConnection, rows: &[NewDelivery]) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    diesel::insert_into(deliveries::table)
        .values(rows)
        .on_conflict((deliveries::subscription_id, deliveries::event_id))
        .do_nothing()
        .execute(conn)
}

/// Marks the rows of a `due` query as being sent, held for `$2` seconds,
/// and answers them as [`Claimed`].
const TAKE_DUE: &str = "UPDATE deliveries d
         SET state = 'sending',
             lease_until = now() + make_interval(secs => $2),
             attempts = d.attempts + 1
         FROM due WHERE d.id = due.id
         RETURNING d.id, d.subscription_id, d.event_id, d.position, d.body,
                   d.attempts AS attempt";

/// Takes up to `limit` due deliveries, each the head of its subscription,
/// holding them for `lease`.
pub fn claim(conn: &mut PgConnection, limit: i64, lease: Duration) -> QueryResult<Vec<Claimed>> {
    // Each live subscription's head is one probe of the open-deliveries
    // index (a DISTINCT ON over the open rows read the whole backlog on
    // every claim). The state conditions are repeated on the locked rows
    // themselves: a row another worker changed since this statement's
    // snapshot is judged again on its new version before it is taken.
    diesel::sql_query(format!(
        "WITH heads AS (
             SELECT head.id
             FROM subscriptions s
             CROSS JOIN LATERAL (
                 SELECT d.id FROM deliveries d
                 WHERE d.subscription_id = s.id AND d.state IN ('pending', 'sending')
                 ORDER BY d.position, d.id
                 LIMIT 1
             ) head
             WHERE s.revoked_at IS NULL AND s.disabled_at IS NULL
         ), due AS (
             SELECT d.id FROM deliveries d
             WHERE d.id IN (SELECT id FROM heads)
               AND ((d.state = 'pending' AND d.next_attempt_at <= now())
                    OR (d.state = 'sending' AND d.lease_until < now()))
             ORDER BY d.next_attempt_at, d.id
             LIMIT $1
             FOR UPDATE OF d SKIP LOCKED
         )
         {TAKE_DUE}"
    ))
    .bind::<BigInt, _>(limit)
    .bind::<Double, _>(lease.as_secs_f64())
    .load(conn)
}

/// Takes the head of one subscription when it is due (and the
/// subscription live), holding it for `lease`: how a worker that has just
/// finished a delivery goes straight on to the next one of the same
/// subscription without a pass over every subscription.
pub fn claim_head_of(
    conn: &mut PgConnection,
    subscription_id: &str,
    lease: Duration,
) -> QueryResult<Option<Claimed>> {
    diesel::sql_query(format!(
        "WITH due AS (
             SELECT d.id FROM deliveries d
             WHERE d.id = (
                     SELECT h.id FROM deliveries h
                     WHERE h.subscription_id = $1 AND h.state IN ('pending', 'sending')
                     ORDER BY h.position, h.id
                     LIMIT 1)
               AND ((d.state = 'pending' AND d.next_attempt_at <= now())
                    OR (d.state = 'sending' AND d.lease_until < now()))
               AND EXISTS (SELECT 1 FROM subscriptions s
                           WHERE s.id = $1 AND s.revoked_at IS NULL AND s.disabled_at IS NULL)
             FOR UPDATE OF d SKIP LOCKED
         )
         {TAKE_DUE}"
    ))
    .bind::<Text, _>(subscription_id)
    .bind::<Double, _>(lease.as_secs_f64())
    .get_result(conn)
    .optional()
}

/// Ends the attempt `claimed` made. Answers false when the delivery was
/// no longer this worker's (its lease ran out and another took it over).
pub fn finish(conn: &mut PgConnection, claimed: &Claimed, how: Finish) -> QueryResult<bool> {
    let mine = deliveries::table
        .find(claimed.id)
        .filter(deliveries::state.eq("sending"))
        .filter(deliveries::attempts.eq(claimed.attempt));
    let now = Utc::now();
    let changed = match how {
        Finish::Delivered => diesel::update(mine)
            .set((
                deliveries::state.eq("delivered"),
                deliveries::finished_at.eq(now),
                deliveries::lease_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)?,
        Finish::Failed => diesel::update(mine)
            .set((
                deliveries::state.eq("failed"),
                deliveries::finished_at.eq(now),
                deliveries::lease_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)?,
        Finish::RetryAt(at) => diesel::update(mine)
            .set((
                deliveries::state.eq("pending"),
                deliveries::next_attempt_at.eq(at),
                deliveries::lease_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)?,
    };
    Ok(changed == 1)
}

/// Puts a claimed delivery back, due at `due`, as if it had not been
/// claimed (the attempt it was counted as was never made). False when it
/// was no longer this worker's.
pub fn put_back(
    conn: &mut PgConnection,
    claimed: &Claimed,
    due: DateTime<Utc>,
) -> QueryResult<bool> {
    let changed = diesel::update(
        deliveries::table
            .find(claimed.id)
            .filter(deliveries::state.eq("sending"))
            .filter(deliveries::attempts.eq(claimed.attempt)),
    )
    .set((
        deliveries::state.eq("pending"),
        deliveries::attempts.eq(claimed.attempt - 1),
        deliveries::next_attempt_at.eq(due),
        deliveries::lease_until.eq(None::<DateTime<Utc>>),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// One line of the delivery log.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = delivery_attempts, check_for_backend(diesel::pg::Pg))]
pub struct AttemptRow {
    pub id: String,
    pub delivery_id: i64,
    pub subscription_id: String,
    pub event_id: String,
    pub attempt: i32,
    pub response_status: i32,
    pub latency_ms: i32,
    pub response_body: String,
    pub error: Option<String>,
    pub attempted_at: DateTime<Utc>,
}

pub fn record_attempt(conn: &mut PgConnection, row: &AttemptRow) -> QueryResult<usize> {
    diesel::insert_into(delivery_attempts::table)
        .values(row)
        .execute(conn)
}

/// A subscription's log, newest first, `limit` lines before the line
/// `before` (by id) when given.
pub fn recent_attempts(
    conn: &mut PgConnection,
    subscription_id: &str,
    limit: i64,
    before: Option<&AttemptRow>,
) -> QueryResult<Vec<AttemptRow>> {
    let mut query = delivery_attempts::table
        .filter(delivery_attempts::subscription_id.eq(subscription_id))
        .select(AttemptRow::as_select())
        .order((
            delivery_attempts::attempted_at.desc(),
            delivery_attempts::id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(
            delivery_attempts::attempted_at.lt(before.attempted_at).or(
                delivery_attempts::attempted_at
                    .eq(before.attempted_at)
                    .and(delivery_attempts::id.lt(before.id.clone())),
            ),
        );
    }
    query.load(conn)
}

/// Forgets log lines, and finished deliveries, older than `cutoff` (the log
/// is kept seven days). Answers (log lines, deliveries) removed.
pub fn purge_before(conn: &mut PgConnection, cutoff: DateTime<Utc>) -> QueryResult<(usize, usize)> {
    let lines =
        diesel::delete(delivery_attempts::table.filter(delivery_attempts::attempted_at.lt(cutoff)))
            .execute(conn)?;
    let finished = diesel::delete(
        deliveries::table
            .filter(deliveries::state.eq_any(["delivered", "failed"]))
            .filter(deliveries::finished_at.lt(cutoff)),
    )
    .execute(conn)?;
    Ok((lines, finished))
}

/// Queues again the deliveries of `subscription_id` for these events (or,
/// with `after_position`, for every event it was queued after that place),
/// as if new: pending, due now, no attempt counted. A delivery under way
/// is left to finish. Answers how many were queued again.
pub fn requeue(
    conn: &mut PgConnection,
    subscription_id: &str,
    which: Requeue<'_>,
) -> QueryResult<usize> {
    let mut query = diesel::update(deliveries::table)
        .filter(deliveries::subscription_id.eq(subscription_id))
        .filter(deliveries::state.ne("sending"))
        .into_boxed();
    query = match which {
        Requeue::Event(event_id) => query.filter(deliveries::event_id.eq(event_id.to_owned())),
        Requeue::After(position) => query.filter(deliveries::position.gt(position)),
    };
    query
        .set((
            deliveries::state.eq("pending"),
            deliveries::attempts.eq(0),
            deliveries::next_attempt_at.eq(Utc::now()),
            deliveries::finished_at.eq(None::<DateTime<Utc>>),
            deliveries::lease_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
}

/// Which deliveries [`requeue`] takes.
#[derive(Debug, Clone, Copy)]
pub enum Requeue<'a> {
    Event(&'a str),
    After(i64),
}

/// A subscription with deliveries waiting: its id, how many, and since
/// when the oldest has waited.
pub type Waiting = (String, i64, Option<DateTime<Utc>>);

/// What waits, for these subscriptions (`None`: every subscription).
pub fn waiting(
    conn: &mut PgConnection,
    subscription_ids: Option<&[String]>,
) -> QueryResult<Vec<Waiting>> {
    use diesel::dsl::{count_star, min};
    let mut query = deliveries::table
        .filter(deliveries::state.eq_any(["pending", "sending"]))
        .group_by(deliveries::subscription_id)
        .select((
            deliveries::subscription_id,
            count_star(),
            min(deliveries::created_at),
        ))
        .into_boxed();
    if let Some(ids) = subscription_ids {
        query = query.filter(deliveries::subscription_id.eq_any(ids));
    }
    query.load(conn)
}

/// A line of the delivery log with what its delivery sent.
#[derive(Debug, Clone, Queryable)]
pub struct LoggedAttempt {
    pub line: AttemptRow,
    pub body: String,
    pub state: String,
}

/// [`recent_attempts`], each with its delivery's body and state.
pub fn recent_attempts_with_bodies(
    conn: &mut PgConnection,
    subscription_id: &str,
    limit: i64,
    before: Option<&str>,
) -> QueryResult<Vec<LoggedAttempt>> {
    let before = match before {
        Some(id) => match delivery_attempts::table
            .find(id)
            .filter(delivery_attempts::subscription_id.eq(subscription_id))
            .select(AttemptRow::as_select())
            .first(conn)
            .optional()?
        {
            Some(row) => Some(row),
            // A cursor from elsewhere names no page.
            None => return Ok(Vec::new()),
        },
        None => None,
    };
    let lines = recent_attempts(conn, subscription_id, limit, before.as_ref())?;
    let ids: Vec<i64> = lines.iter().map(|line| line.delivery_id).collect();
    let sent: Vec<(i64, String, String)> = deliveries::table
        .filter(deliveries::id.eq_any(&ids))
        .select((deliveries::id, deliveries::body, deliveries::state))
        .load(conn)?;
    Ok(lines
        .into_iter()
        .map(|line| {
            let (body, state) = sent
                .iter()
                .find(|(id, _, _)| *id == line.delivery_id)
                .map(|(_, body, state)| (body.clone(), state.clone()))
                .unwrap_or_default();
            LoggedAttempt { line, body, state }
        })
        .collect())
}

/// When the next open delivery comes due: a pending one's attempt time, or
/// a sending one's lease end (a worker that died).
pub fn next_due(conn: &mut PgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    use diesel::dsl::min;
    let retry: Option<DateTime<Utc>> = deliveries::table
        .filter(deliveries::state.eq("pending"))
        .select(min(deliveries::next_attempt_at))
        .first(conn)?;
    let lapse: Option<DateTime<Utc>> = deliveries::table
        .filter(deliveries::state.eq("sending"))
        .select(min(deliveries::lease_until))
        .first(conn)?;
    Ok(match (retry, lapse) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}
