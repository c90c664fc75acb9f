//! Subscription rows.

use super::schema::subscriptions;
use crate::standing::ReaderKey;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamptz};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = subscriptions, check_for_backend(diesel::pg::Pg))]
pub struct SubscriptionRow {
    pub id: String,
    pub workspace_id: String,
    /// `None`: made without a bot; `created_by` is then the reader.
    pub bot_user_id: Option<String>,
    pub callback_url: String,
    pub event_types: Vec<String>,
    pub channel_ids: Vec<String>,
    pub sealed_secret: Vec<u8>,
    pub previous_sealed_secret: Option<Vec<u8>>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    /// When the people behind it were told it was disabled.
    pub owner_told_at: Option<DateTime<Utc>>,
}

impl SubscriptionRow {
    /// Whose view of the workspace this subscription pushes: its bot, or
    /// the member who made it without one.
    pub fn reader(&self) -> ReaderKey {
        ReaderKey {
            workspace_id: self.workspace_id.clone(),
            user_id: self.reader_id().to_owned(),
        }
    }

    pub fn reader_id(&self) -> &str {
        // The table's check keeps one of the two set.
        self.bot_user_id
            .as_deref()
            .or(self.created_by.as_deref())
            .unwrap_or_default()
    }
}

pub fn insert(conn: &mut PgConnection, row: &SubscriptionRow) -> QueryResult<SubscriptionRow> {
    diesel::insert_into(subscriptions::table)
        .values(row)
        .returning(SubscriptionRow::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: &str) -> QueryResult<Option<SubscriptionRow>> {
    subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()
}

/// The subscriptions with these ids (those that still exist).
pub fn find_many(conn: &mut PgConnection, ids: &[String]) -> QueryResult<Vec<SubscriptionRow>> {
    subscriptions::table
        .filter(subscriptions::id.eq_any(ids))
        .select(SubscriptionRow::as_select())
        .load(conn)
}

/// The live (neither revoked nor disabled) subscriptions in these
/// workspaces: the ones new events are queued for.
pub fn live_in(
    conn: &mut PgConnection,
    workspace_ids: &[String],
) -> QueryResult<Vec<SubscriptionRow>> {
    subscriptions::table
        .filter(subscriptions::workspace_id.eq_any(workspace_ids))
        .filter(subscriptions::revoked_at.is_null())
        .filter(subscriptions::disabled_at.is_null())
        .select(SubscriptionRow::as_select())
        .load(conn)
}

/// Disabled subscriptions whose people have not been told yet.
pub fn owed_a_notice(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<SubscriptionRow>> {
    subscriptions::table
        .filter(subscriptions::disabled_at.is_not_null())
        .filter(subscriptions::owner_told_at.is_null())
        .order(subscriptions::disabled_at.asc())
        .limit(limit)
        .select(SubscriptionRow::as_select())
        .load(conn)
}

pub fn mark_told(conn: &mut PgConnection, id: &str) -> QueryResult<usize> {
    diesel::update(subscriptions::table.find(id))
        .set(subscriptions::owner_told_at.eq(Utc::now()))
        .execute(conn)
}

/// Stops every delivery of the subscription for good (410 Gone, or five
/// days of failures); the first reason given is kept.
pub fn disable(conn: &mut PgConnection, id: &str, reason: &str) -> QueryResult<usize> {
    diesel::update(
        subscriptions::table
            .find(id)
            .filter(subscriptions::disabled_at.is_null()),
    )
    .set((
        subscriptions::disabled_at.eq(Utc::now()),
        subscriptions::disabled_reason.eq(reason),
    ))
    .execute(conn)
}

/// After an attempt: a success clears the failing streak, a failure
/// starts one if none is running. Answers since when it has been failing.
pub fn note_outcome(
    conn: &mut PgConnection,
    id: &str,
    succeeded: bool,
) -> QueryResult<Option<DateTime<Utc>>> {
    let target = subscriptions::table.find(id);
    if succeeded {
        // A healthy subscription's row is left as it is: rewriting it on
        // every delivery would cost a new row version each time.
        diesel::update(target.filter(subscriptions::failing_since.is_not_null()))
            .set(subscriptions::failing_since.eq(None::<DateTime<Utc>>))
            .execute(conn)?;
        Ok(None)
    } else {
        diesel::update(target)
            .set(
                subscriptions::failing_since.eq(diesel::dsl::sql::<Nullable<Timestamptz>>(
                    "coalesce(failing_since, now())",
                )),
            )
            .returning(subscriptions::failing_since)
            .get_result(conn)
    }
}

/// A workspace's subscriptions, oldest first; the revoked and disabled
/// ones only with `include_ended`.
pub fn list_in(
    conn: &mut PgConnection,
    workspace_id: &str,
    include_ended: bool,
) -> QueryResult<Vec<SubscriptionRow>> {
    let mut query = subscriptions::table
        .filter(subscriptions::workspace_id.eq(workspace_id))
        .select(SubscriptionRow::as_select())
        .order((subscriptions::created_at.asc(), subscriptions::id.asc()))
        .into_boxed();
    if !include_ended {
        query = query
            .filter(subscriptions::revoked_at.is_null())
            .filter(subscriptions::disabled_at.is_null());
    }
    query.load(conn)
}

/// Live subscriptions of a workspace (its quota counts these). Locks them,
/// so two creations at once cannot both take the last place.
pub fn count_live_locked(conn: &mut PgConnection, workspace_id: &str) -> QueryResult<i64> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind::<diesel::sql_types::Text, _>(format!("webhooks:{workspace_id}"))
        .execute(conn)?;
    subscriptions::table
        .filter(subscriptions::workspace_id.eq(workspace_id))
        .filter(subscriptions::revoked_at.is_null())
        .filter(subscriptions::disabled_at.is_null())
        .count()
        .get_result(conn)
}

revocable_signer!(subscriptions, SubscriptionRow);
