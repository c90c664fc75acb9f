use super::schema::messages;
use chrono::{DateTime, Utc};
use clickclack_common::ids::{UserId, WorkspaceId};
use diesel::pg::Pg;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
pub struct MessageRow {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub channel_id: Option<String>,
    pub conversation_id: Option<String>,
    pub author_id: UserId,
    pub body: String,
    pub kind: String,
    pub seq: Option<i64>,
    pub thread_root_id: String,
    pub parent_message_id: Option<String>,
    pub thread_seq: Option<i64>,
    pub quoted_message_id: Option<String>,
    pub nonce: Option<String>,
    pub turn_id: Option<String>,
    pub reply_count: i64,
    pub last_reply_at: Option<DateTime<Utc>>,
    pub last_reply_author_ids: Vec<UserId>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub quoted_body_snapshot: Option<String>,
    pub quoted_author_id: Option<UserId>,
    /// The bot's buttons, as `clickclack_common::actions::MessageAction`s.
    pub actions: serde_json::Value,
}

impl MessageRow {
    pub fn is_root(&self) -> bool {
        self.parent_message_id.is_none()
    }
}

pub fn insert(conn: &mut PgConnection, message: &MessageRow) -> QueryResult<MessageRow> {
    diesel::insert_into(messages::table)
        .values(message)
        .returning(MessageRow::as_returning())
        .get_result(conn)
}

pub fn find_in_workspace(
    conn: &mut PgConnection,
    id: &str,
    workspace_id: &WorkspaceId,
) -> QueryResult<Option<MessageRow>> {
    messages::table
        .find(id)
        .filter(messages::workspace_id.eq(workspace_id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_many(conn: &mut PgConnection, ids: &[String]) -> QueryResult<Vec<MessageRow>> {
    messages::table
        .filter(messages::id.eq_any(ids))
        .select(MessageRow::as_select())
        .load(conn)
}

pub fn find_by_nonce(
    conn: &mut PgConnection,
    author_id: &UserId,
    nonce: &str,
) -> QueryResult<Option<MessageRow>> {
    messages::table
        .filter(messages::author_id.eq(author_id))
        .filter(messages::nonce.eq(nonce))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()
}

/// Locks a message row for the rest of the transaction.
pub fn lock(conn: &mut PgConnection, id: &str) -> QueryResult<MessageRow> {
    messages::table
        .find(id)
        .select(MessageRow::as_select())
        .for_update()
        .first(conn)
}

pub fn set_thread_state(
    conn: &mut PgConnection,
    root_id: &str,
    reply_count: i64,
    last_reply_at: DateTime<Utc>,
    last_reply_author_ids: &[UserId],
) -> QueryResult<MessageRow> {
    diesel::update(messages::table.find(root_id))
        .set((
            messages::reply_count.eq(reply_count),
            messages::last_reply_at.eq(last_reply_at),
            messages::last_reply_author_ids.eq(last_reply_author_ids),
        ))
        .returning(MessageRow::as_returning())
        .get_result(conn)
}

pub fn set_content(
    conn: &mut PgConnection,
    id: &str,
    body: &str,
    actions: &serde_json::Value,
    edited_at: DateTime<Utc>,
) -> QueryResult<MessageRow> {
    diesel::update(messages::table.find(id))
        .set((
            messages::body.eq(body),
            messages::actions.eq(actions),
            messages::edited_at.eq(edited_at),
        ))
        .returning(MessageRow::as_returning())
        .get_result(conn)
}

/// Clears the body and marks the message deleted; it stays listed.
pub fn soft_delete(
    conn: &mut PgConnection,
    id: &str,
    at: DateTime<Utc>,
) -> QueryResult<MessageRow> {
    diesel::update(messages::table.find(id))
        .set((
            messages::body.eq(""),
            // The quote is content too: it goes with the body.
            messages::quoted_body_snapshot.eq(None::<String>),
            messages::actions.eq(serde_json::json!([])),
            messages::deleted_at.eq(at),
        ))
        .returning(MessageRow::as_returning())
        .get_result(conn)
}

/// A sequence of messages that pages are cut from.
#[derive(Debug, Clone, Copy)]
pub enum Sequence<'a> {
    /// Top-level messages of a channel, by channel_seq.
    ChannelRoots(&'a str),
    /// Top-level messages of a DM, by the conversation's seq.
    ConversationRoots(&'a str),
    /// Replies under a thread root, by thread_seq.
    Replies(&'a str),
}

/// Which page of a sequence to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Oldest,
    Newest,
    After(i64),
    Before(i64),
    Around(i64),
}

/// One page, ascending, and whether more lies on either side.
pub struct Page {
    pub rows: Vec<MessageRow>,
    pub has_older: bool,
    pub has_newer: bool,
}

type Boxed<'a> = messages::BoxedQuery<
    'a,
    Pg,
    <diesel::dsl::AsSelect<MessageRow, Pg> as diesel::Expression>::SqlType,
>;

#[derive(Clone, Copy)]
enum Bound {
    Above(i64),
    AtOrAbove(i64),
    Below(i64),
}

fn query<'a>(sequence: Sequence<'a>, bound: Option<Bound>, ascending: bool) -> Boxed<'a> {
    let base = messages::table.select(MessageRow::as_select()).into_boxed();
    let filtered = match sequence {
        Sequence::ChannelRoots(id) => base
            .filter(messages::channel_id.eq(id))
            .filter(messages::parent_message_id.is_null()),
        Sequence::ConversationRoots(id) => base
            .filter(messages::conversation_id.eq(id))
            .filter(messages::parent_message_id.is_null()),
        Sequence::Replies(root) => base
            .filter(messages::thread_root_id.eq(root))
            .filter(messages::parent_message_id.is_not_null()),
    };
    let by_thread = matches!(sequence, Sequence::Replies(_));
    let bounded = match (bound, by_thread) {
        (None, _) => filtered,
        (Some(Bound::Above(v)), false) => filtered.filter(messages::seq.gt(v)),
        (Some(Bound::AtOrAbove(v)), false) => filtered.filter(messages::seq.ge(v)),
        (Some(Bound::Below(v)), false) => filtered.filter(messages::seq.lt(v)),
        (Some(Bound::Above(v)), true) => filtered.filter(messages::thread_seq.gt(v)),
        (Some(Bound::AtOrAbove(v)), true) => filtered.filter(messages::thread_seq.ge(v)),
        (Some(Bound::Below(v)), true) => filtered.filter(messages::thread_seq.lt(v)),
    };
    match (ascending, by_thread) {
        (true, false) => bounded.order(messages::seq.asc()),
        (false, false) => bounded.order(messages::seq.desc()),
        (true, true) => bounded.order(messages::thread_seq.asc()),
        (false, true) => bounded.order(messages::thread_seq.desc()),
    }
}

fn load(
    conn: &mut PgConnection,
    sequence: Sequence,
    bound: Option<Bound>,
    ascending: bool,
    limit: i64,
) -> QueryResult<Vec<MessageRow>> {
    let mut rows = query(sequence, bound, ascending).limit(limit).load(conn)?;
    if !ascending {
        rows.reverse();
    }
    Ok(rows)
}

fn any(conn: &mut PgConnection, sequence: Sequence, bound: Bound) -> QueryResult<bool> {
    Ok(!query(sequence, Some(bound), true)
        .limit(1)
        .load(conn)?
        .is_empty())
}

fn position(row: &MessageRow) -> i64 {
    row.thread_seq.or(row.seq).unwrap_or_default()
}

pub fn page(
    conn: &mut PgConnection,
    sequence: Sequence,
    window: Window,
    limit: i64,
) -> QueryResult<Page> {
    let rows = match window {
        Window::Oldest => load(conn, sequence, None, true, limit)?,
        Window::Newest => load(conn, sequence, None, false, limit)?,
        Window::After(v) => load(conn, sequence, Some(Bound::Above(v)), true, limit)?,
        Window::Before(v) => load(conn, sequence, Some(Bound::Below(v)), false, limit)?,
        Window::Around(v) => {
            let mut rows = load(conn, sequence, Some(Bound::Below(v)), false, limit / 2)?;
            let rest = limit - rows.len() as i64;
            rows.extend(load(conn, sequence, Some(Bound::AtOrAbove(v)), true, rest)?);
            rows
        }
    };
    let (has_older, has_newer) = match (rows.first(), rows.last()) {
        (Some(first), Some(last)) => (
            any(conn, sequence, Bound::Below(position(first)))?,
            any(conn, sequence, Bound::Above(position(last)))?,
        ),
        _ => match window {
            Window::After(v) => (any(conn, sequence, Bound::Below(v + 1))?, false),
            Window::Before(v) => (false, any(conn, sequence, Bound::AtOrAbove(v))?),
            _ => (false, false),
        },
    };
    Ok(Page {
        rows,
        has_older,
        has_newer,
    })
}
