//! Slash-command invocations: the log a command's managers read, and the
//! response token each one handed its bot.

use super::schema::{slash_command_invocations as invocations, slash_commands};
use super::slash_commands::SlashCommandRow;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Bytea, Integer, Interval};

/// Follow-ups a response token answers, at most.
pub const MAX_RESPONSES: i32 = 5;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invocations, check_for_backend(diesel::pg::Pg))]
pub struct InvocationRow {
    pub id: String,
    pub command_id: String,
    pub workspace_id: String,
    pub channel_id: Option<String>,
    pub direct_conversation_id: Option<String>,
    pub thread_root_id: Option<String>,
    pub user_id: String,
    pub text: String,
    pub response_token_hash: Vec<u8>,
    pub responses_until: DateTime<Utc>,
    pub responses_used: i32,
    pub acked_at: Option<DateTime<Utc>>,
    pub response_status: Option<i32>,
    pub response_body: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// A button press: the message, and which of its buttons.
    pub message_id: Option<String>,
    pub action_id: Option<String>,
}

pub fn insert(conn: &mut PgConnection, row: &InvocationRow) -> QueryResult<InvocationRow> {
    diesel::insert_into(invocations::table)
        .values(row)
        .returning(InvocationRow::as_returning())
        .get_result(conn)
}

/// Records how a request-URL invocation went.
pub fn complete(
    conn: &mut PgConnection,
    id: &str,
    acked: bool,
    response_status: Option<i32>,
    response_body: &str,
    error: Option<&str>,
) -> QueryResult<InvocationRow> {
    diesel::update(invocations::table.find(id))
        .set((
            invocations::acked_at.eq(acked.then(Utc::now)),
            invocations::response_status.eq(response_status),
            invocations::response_body.eq(response_body),
            invocations::error.eq(error),
            invocations::completed_at.eq(Utc::now()),
        ))
        .returning(InvocationRow::as_returning())
        .get_result(conn)
}

/// A socket invocation nobody acknowledged in time: it failed, unless an
/// acknowledgement got in first (then it only completes).
pub fn give_up(conn: &mut PgConnection, id: &str, error: &str) -> QueryResult<InvocationRow> {
    conn.transaction(|conn| {
        let failed = diesel::update(
            invocations::table
                .find(id)
                .filter(invocations::acked_at.is_null()),
        )
        .set((
            invocations::error.eq(error),
            invocations::completed_at.eq(Utc::now()),
        ))
        .returning(InvocationRow::as_returning())
        .get_result(conn)
        .optional()?;
        match failed {
            Some(row) => Ok(row),
            None => diesel::update(invocations::table.find(id))
                .set(invocations::completed_at.eq(Utc::now()))
                .returning(InvocationRow::as_returning())
                .get_result(conn),
        }
    })
}

pub fn find(
    conn: &mut PgConnection,
    id: &str,
) -> QueryResult<Option<(InvocationRow, SlashCommandRow)>> {
    invocations::table
        .find(id)
        .inner_join(slash_commands::table)
        .select((InvocationRow::as_select(), SlashCommandRow::as_select()))
        .first(conn)
        .optional()
}

/// A command's invocations, newest first.
pub fn of_command(
    conn: &mut PgConnection,
    command_id: &str,
    limit: i64,
) -> QueryResult<Vec<InvocationRow>> {
    invocations::table
        .filter(invocations::command_id.eq(command_id))
        .order((invocations::created_at.desc(), invocations::id.desc()))
        .limit(limit)
        .select(InvocationRow::as_select())
        .load(conn)
}

/// Forgets invocations older than `cutoff` (their tokens are long spent).
pub fn purge_before(conn: &mut PgConnection, cutoff: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(invocations::table.filter(invocations::created_at.lt(cutoff))).execute(conn)
}

/// What redeeming a response token found.
pub enum Redeemed {
    /// The invocation it answers (with the use counted, if it counts).
    Answers(Box<(InvocationRow, SlashCommandRow)>),
    /// No invocation handed out that token, or its command is revoked.
    Unknown,
    /// Its 15 minutes are over, or its 5 responses are used.
    Spent,
}

/// One use of a response token, in one statement so two racing follow-ups
/// cannot both take the last use. A use that says nothing (an
/// acknowledgement) is not counted; either kind acknowledges an invocation
/// still within `ack_within` of its start and not yet given up on.
pub fn redeem(
    conn: &mut PgConnection,
    token_hash: &[u8],
    says_something: bool,
    ack_within: std::time::Duration,
) -> QueryResult<Redeemed> {
    let ack_within = diesel::data_types::PgInterval::from_microseconds(
        i64::try_from(ack_within.as_micros()).unwrap_or(i64::MAX),
    );
    let taken: Option<String> = diesel::sql_query(
        "UPDATE slash_command_invocations i
            SET responses_used = i.responses_used + CASE WHEN $2 THEN 1 ELSE 0 END,
                acked_at = coalesce(i.acked_at,
                    CASE WHEN now() < i.created_at + $3 AND i.completed_at IS NULL
                         THEN now() END)
           FROM slash_commands c
          WHERE i.response_token_hash = $1
            AND c.id = i.command_id AND c.revoked_at IS NULL
            AND now() < i.responses_until
            AND (NOT $2 OR i.responses_used < $4)
      RETURNING i.id",
    )
    .bind::<Bytea, _>(token_hash)
    .bind::<Bool, _>(says_something)
    .bind::<Interval, _>(ack_within)
    .bind::<Integer, _>(MAX_RESPONSES)
    .get_result::<TakenId>(conn)
    .optional()?
    .map(|taken| taken.id);
    if let Some(id) = taken {
        return Ok(match find(conn, &id)? {
            Some(found) => Redeemed::Answers(Box::new(found)),
            None => Redeemed::Unknown,
        });
    }
    // Nothing taken: say whether the token was ever good.
    let known: Option<(String, Option<DateTime<Utc>>)> = invocations::table
        .inner_join(slash_commands::table)
        .filter(invocations::response_token_hash.eq(token_hash))
        .select((invocations::id, slash_commands::revoked_at))
        .first(conn)
        .optional()?;
    Ok(match known {
        Some((_, None)) => Redeemed::Spent,
        _ => Redeemed::Unknown,
    })
}

#[derive(QueryableByName)]
struct TakenId {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}
