//! Posting, reading, editing and deleting messages, and threads.

use super::access::{self, Intent};
use super::events::{self, EventDraft, text};
use super::{rules, views};
use crate::error::{MessagingError, Result};
/// Which end of a history a page starts from when no cursor says.
pub use crate::store::messages::Window;
use crate::store::messages::{self, MessageRow, Page, Sequence};
use crate::store::{channels, conversations, violates};
use chrono::Utc;
use clickclack_common::actions::{self, MessageAction};
use clickclack_common::assertion::ActingUser;
use clickclack_common::db::DbError;
use clickclack_common::ids;
use clickclack_common::outbox::RecordedEvent;
use clickclack_common::roles::Role;
use clickclack_common::scopes::Scope;
use diesel::{Connection, PgConnection};
use serde_json::json;

/// Replies remember this many of their most recent distinct authors.
const LAST_REPLY_AUTHORS: usize = 5;

/// Where a new message goes.
pub enum Target {
    Channel(String),
    Conversation(String),
    /// A reply under the thread of this message (or of its root).
    Thread(String),
}

pub struct NewMessage {
    pub target: Target,
    pub body: String,
    pub quoted_message_id: Option<String>,
    pub nonce: Option<String>,
    pub kind: String,
    pub turn_id: Option<String>,
    pub correlation_id: Option<String>,
    /// Buttons under the message (bots only).
    pub actions: Vec<MessageAction>,
}

/// What an edit changes: `None` leaves that part as it is.
pub struct Edit {
    pub body: Option<String>,
    pub actions: Option<Vec<MessageAction>>,
}

pub struct Posted {
    pub message: views::Message,
    pub created: bool,
    pub events: Vec<RecordedEvent>,
    pub thread_state: Option<views::ThreadState>,
}

pub fn post(conn: &mut PgConnection, caller: &ActingUser, new: NewMessage) -> Result<Posted> {
    let body = rules::body(&new.body)?;
    let kind = rules::message_kind(&new.kind)?;
    if kind != rules::KIND_MESSAGE
        && !(caller.is_bot() && caller.has_scope(Scope::AgentActivityWrite))
    {
        return Err(MessagingError::Forbidden(format!(
            "kind {kind} needs a bot token with the agent_activity:write scope"
        )));
    }
    if kind == rules::KIND_MESSAGE && new.turn_id.is_some() {
        return Err(MessagingError::Invalid(
            "turn_id is only valid with kind agent_commentary or agent_tool".into(),
        ));
    }
    let nonce = rules::nonce(new.nonce.as_deref())?;
    let actions = checked_actions(caller, new.actions)?;
    let new = NewMessage {
        body,
        kind,
        nonce,
        actions,
        ..new
    };

    match conn.transaction(|conn| insert(conn, caller, &new)) {
        Ok(posted) => Ok(posted),
        // A concurrent retry with the same nonce won the race: answer with it.
        Err(MessagingError::Db(DbError::Query(ref e)))
            if violates(e, "messages_author_nonce_key") =>
        {
            let nonce = new.nonce.as_deref().unwrap_or_default();
            let original =
                messages::find_by_nonce(conn, &caller.user_id, nonce)?.ok_or_else(|| {
                    MessagingError::Conflict("nonce is being used by another request".into())
                })?;
            replay(conn, caller, original, &new.body)
        }
        Err(other) => Err(other),
    }
}

/// A repeated nonce: the original message, no new event.
fn replay(
    conn: &mut PgConnection,
    caller: &ActingUser,
    original: MessageRow,
    body: &str,
) -> Result<Posted> {
    if original.body != body && original.deleted_at.is_none() {
        return Err(MessagingError::Conflict(
            "this nonce was already used for a message with a different body".into(),
        ));
    }
    let thread_state = if original.is_root() {
        None
    } else {
        let root =
            messages::find_in_workspace(conn, &original.thread_root_id, &caller.workspace_id)?;
        root.as_ref().map(views::ThreadState::of)
    };
    Ok(Posted {
        message: views::message(conn, &caller.user_id, original)?,
        created: false,
        events: Vec::new(),
        thread_state,
    })
}

fn insert(conn: &mut PgConnection, caller: &ActingUser, new: &NewMessage) -> Result<Posted> {
    if let Some(nonce) = &new.nonce
        && let Some(original) = messages::find_by_nonce(conn, &caller.user_id, nonce)?
    {
        return replay(conn, caller, original, &new.body);
    }
    let quoted = match &new.quoted_message_id {
        Some(id) => Some(access::message(conn, caller, id, Intent::Read)?),
        None => None,
    };
    let now = Utc::now();
    let id = ids::new_id(ids::MESSAGE);
    let mut row = MessageRow {
        id: id.clone(),
        workspace_id: caller.workspace_id.clone(),
        channel_id: None,
        conversation_id: None,
        author_id: caller.user_id.clone(),
        body: new.body.clone(),
        kind: new.kind.clone(),
        seq: None,
        thread_root_id: id.clone(),
        parent_message_id: None,
        thread_seq: None,
        quoted_message_id: new.quoted_message_id.clone(),
        nonce: new.nonce.clone(),
        turn_id: new.turn_id.clone(),
        reply_count: 0,
        last_reply_at: None,
        last_reply_author_ids: Vec::new(),
        created_at: now,
        edited_at: None,
        deleted_at: None,
        // What was quoted, as it read then (a later edit does not change it).
        quoted_body_snapshot: quoted.as_ref().map(|q| q.body.clone()),
        quoted_author_id: quoted.map(|q| q.author_id),
        actions: json!(new.actions),
    };
    match &new.target {
        Target::Channel(channel_id) => {
            let channel = access::channel(conn, caller, channel_id)?;
            access::ensure_not_archived(&channel)?;
            row.channel_id = Some(channel.id.clone());
            row.seq = Some(channels::next_seq(conn, &channel.id)?);
        }
        Target::Conversation(conversation_id) => {
            let conversation = access::conversation(conn, caller, conversation_id)?;
            row.conversation_id = Some(conversation.id.clone());
            row.seq = Some(conversations::next_seq(conn, &conversation.id)?);
            conversations::show_to_all(conn, &conversation.id)?;
        }
        Target::Thread(parent_id) => return insert_reply(conn, caller, new, row, parent_id),
    }
    let row = messages::insert(conn, &row)?;
    let draft = message_event(conn, caller, "message.created", &row)?;
    let event = events::record(
        conn,
        draft
            .with("nonce", text(row.nonce.as_deref()))
            .with("correlation_id", text(new.correlation_id.as_deref()))
            // Agent activity says what it is, so runtimes can filter it.
            .with("kind", agent_kind(&row.kind))
            .with("turn_id", text(row.turn_id.as_deref())),
    )?;
    Ok(Posted {
        message: views::new_message(row),
        created: true,
        events: vec![event],
        thread_state: None,
    })
}

/// The `kind` of an agent-activity message; nothing for an ordinary one.
fn agent_kind(kind: &str) -> Option<serde_json::Value> {
    (kind != rules::KIND_MESSAGE).then(|| json!(kind))
}

/// Threads are one level deep: a reply to a reply lands under the root.
fn insert_reply(
    conn: &mut PgConnection,
    caller: &ActingUser,
    new: &NewMessage,
    mut row: MessageRow,
    parent_id: &str,
) -> Result<Posted> {
    // Every reply needs threads:write; one in a DM also needs dms:write,
    // which the parent's access check asks for (API.md §9).
    let parent = access::message(conn, caller, parent_id, Intent::Write)?;
    if !caller.has_scope(Scope::ThreadsWrite) {
        return Err(MessagingError::Forbidden(
            "this token lacks the threads:write scope".into(),
        ));
    }
    // The lock serialises replies to one thread, so thread_seq never repeats.
    let root = messages::lock(conn, &parent.thread_root_id)?;
    if root.deleted_at.is_some() {
        return Err(MessagingError::Conflict(
            "cannot reply to a deleted message".into(),
        ));
    }
    if let Some(channel_id) = &root.channel_id {
        access::ensure_not_archived(&access::channel(conn, caller, channel_id)?)?;
    }
    let thread_seq = root.reply_count + 1;
    row.channel_id = root.channel_id.clone();
    row.conversation_id = root.conversation_id.clone();
    row.thread_root_id = root.id.clone();
    row.parent_message_id = Some(root.id.clone());
    row.thread_seq = Some(thread_seq);
    let reply = messages::insert(conn, &row)?;

    let mut authors = vec![caller.user_id.clone()];
    authors.extend(
        root.last_reply_author_ids
            .iter()
            .filter(|a| **a != caller.user_id)
            .cloned(),
    );
    authors.truncate(LAST_REPLY_AUTHORS);
    let root = messages::set_thread_state(conn, &root.id, thread_seq, reply.created_at, &authors)?;

    let audience = events::dm_audience(conn, root.conversation_id.as_deref())?;
    let created = events::record(
        conn,
        EventDraft::new("thread.reply_created", &caller.workspace_id)
            .channel(root.channel_id.as_deref())
            .audience(audience.clone())
            .with("message_id", json!(reply.id))
            .with("root_message_id", json!(root.id))
            .with("author_id", json!(reply.author_id))
            .with(
                "direct_conversation_id",
                text(root.conversation_id.as_deref()),
            )
            .with("nonce", text(reply.nonce.as_deref()))
            .with("correlation_id", text(new.correlation_id.as_deref())),
    )?;
    let state = events::record(
        conn,
        EventDraft::new("thread.state_updated", &caller.workspace_id)
            .channel(root.channel_id.as_deref())
            .audience(audience)
            .with("root_message_id", json!(root.id))
            .with("reply_count", json!(root.reply_count))
            .with(
                "direct_conversation_id",
                text(root.conversation_id.as_deref()),
            ),
    )?;
    Ok(Posted {
        message: views::new_message(reply),
        created: true,
        events: vec![created, state],
        thread_state: Some(views::ThreadState::of(&root)),
    })
}

pub fn get(conn: &mut PgConnection, caller: &ActingUser, id: &str) -> Result<views::Message> {
    let row = access::message(conn, caller, id, Intent::Read)?;
    Ok(views::message(conn, &caller.user_id, row)?)
}

/// The caller's own message with that nonce.
pub fn by_nonce(
    conn: &mut PgConnection,
    caller: &ActingUser,
    nonce: &str,
) -> Result<views::Message> {
    let not_found = || MessagingError::NotFound("no message with that nonce".into());
    let nonce = rules::nonce(Some(nonce))?.ok_or_else(not_found)?;
    let row = messages::find_by_nonce(conn, &caller.user_id, &nonce)?
        .filter(|row| row.workspace_id == caller.workspace_id)
        .ok_or_else(not_found)?;
    let row = access::message(conn, caller, &row.id, Intent::Read)?;
    Ok(views::message(conn, &caller.user_id, row)?)
}

pub struct Listing {
    pub messages: Vec<views::Message>,
    pub oldest_seq: Option<i64>,
    pub newest_seq: Option<i64>,
    pub has_older: bool,
    pub has_newer: bool,
}

fn listing(conn: &mut PgConnection, caller: &ActingUser, page: Page) -> Result<Listing> {
    let position = |row: &MessageRow| row.thread_seq.or(row.seq);
    let oldest_seq = page.rows.first().and_then(position);
    let newest_seq = page.rows.last().and_then(position);
    Ok(Listing {
        messages: views::messages(conn, &caller.user_id, page.rows)?,
        oldest_seq,
        newest_seq,
        has_older: page.has_older,
        has_newer: page.has_newer,
    })
}

/// Picks the window from the mutually exclusive cursors.
pub fn window(
    after: Option<i64>,
    before: Option<i64>,
    around: Option<i64>,
    default: Window,
) -> Result<Window> {
    match (after, before, around) {
        (None, None, None) => Ok(default),
        (Some(v), None, None) => Ok(Window::After(v)),
        (None, Some(v), None) => Ok(Window::Before(v)),
        (None, None, Some(v)) => Ok(Window::Around(v)),
        _ => Err(MessagingError::Invalid(
            "after_seq, before_seq and around_seq are mutually exclusive".into(),
        )),
    }
}

/// Top-level messages of a channel or DM, ascending.
pub fn list(
    conn: &mut PgConnection,
    caller: &ActingUser,
    target: Target,
    window: Window,
    limit: i64,
) -> Result<Listing> {
    let page = match &target {
        Target::Channel(id) => {
            let channel = access::channel(conn, caller, id)?;
            messages::page(conn, Sequence::ChannelRoots(&channel.id), window, limit)?
        }
        Target::Conversation(id) => {
            let conversation = access::conversation(conn, caller, id)?;
            messages::page(
                conn,
                Sequence::ConversationRoots(&conversation.id),
                window,
                limit,
            )?
        }
        Target::Thread(_) => {
            return Err(MessagingError::Invalid(
                "use the thread call for replies".into(),
            ));
        }
    };
    listing(conn, caller, page)
}

pub struct Thread {
    pub root: views::Message,
    pub state: views::ThreadState,
    pub replies: Listing,
}

pub fn thread(
    conn: &mut PgConnection,
    caller: &ActingUser,
    id: &str,
    window: Window,
    limit: i64,
) -> Result<Thread> {
    let message = access::message(conn, caller, id, Intent::Read)?;
    let root = if message.is_root() {
        message
    } else {
        access::message(conn, caller, &message.thread_root_id, Intent::Read)?
    };
    let page = messages::page(conn, Sequence::Replies(&root.id), window, limit)?;
    let replies = listing(conn, caller, page)?;
    let state = views::ThreadState::of(&root);
    Ok(Thread {
        root: views::message(conn, &caller.user_id, root)?,
        state,
        replies,
    })
}

pub fn edit(
    conn: &mut PgConnection,
    caller: &ActingUser,
    id: &str,
    edit: Edit,
    correlation_id: Option<&str>,
) -> Result<(views::Message, RecordedEvent)> {
    let body = edit.body.as_deref().map(rules::body).transpose()?;
    let actions = match edit.actions {
        Some(actions) => Some(json!(checked_actions(caller, actions)?)),
        None => None,
    };
    if body.is_none() && actions.is_none() {
        return Err(MessagingError::Invalid(
            "an edit needs a body or actions".into(),
        ));
    }
    let (row, event) = conn.transaction(|conn| -> Result<_> {
        let message = access::message(conn, caller, id, Intent::Write)?;
        if message.author_id != caller.user_id {
            return Err(MessagingError::Forbidden(
                "only the author can edit a message".into(),
            ));
        }
        if message.deleted_at.is_some() {
            return Err(MessagingError::Conflict(
                "a deleted message cannot be edited".into(),
            ));
        }
        let body = body.as_deref().unwrap_or(&message.body);
        let actions = actions.as_ref().unwrap_or(&message.actions);
        let row = messages::set_content(conn, &message.id, body, actions, Utc::now())?;
        let event = changed_event(conn, caller, "message.updated", &row, correlation_id)?;
        Ok((row, event))
    })?;
    Ok((views::message(conn, &caller.user_id, row)?, event))
}

/// Buttons are a bot's: a person's message has none.
fn checked_actions(caller: &ActingUser, actions: Vec<MessageAction>) -> Result<Vec<MessageAction>> {
    if actions.is_empty() {
        return Ok(actions);
    }
    if !caller.is_bot() {
        return Err(MessagingError::Forbidden(
            "only bots can put actions on a message".into(),
        ));
    }
    actions::validate(actions).map_err(MessagingError::Invalid)
}

/// Soft delete by the author, or by a workspace owner in a channel.
pub fn delete(
    conn: &mut PgConnection,
    caller: &ActingUser,
    id: &str,
    correlation_id: Option<&str>,
) -> Result<(views::Message, Option<RecordedEvent>)> {
    let (row, event) = conn.transaction(|conn| -> Result<_> {
        let message = access::message(conn, caller, id, Intent::Write)?;
        let owner_in_channel = caller.role() == Role::Owner && message.channel_id.is_some();
        if message.author_id != caller.user_id && !owner_in_channel {
            return Err(MessagingError::Forbidden(
                "only the author or a workspace owner can delete a message".into(),
            ));
        }
        if message.deleted_at.is_some() {
            return Ok((message, None));
        }
        let row = messages::soft_delete(conn, &message.id, Utc::now())?;
        let event = changed_event(conn, caller, "message.deleted", &row, correlation_id)?;
        Ok((row, Some(event)))
    })?;
    Ok((views::message(conn, &caller.user_id, row)?, event))
}

/// `message.updated` / `message.deleted` for a message.
pub fn changed_event(
    conn: &mut PgConnection,
    caller: &ActingUser,
    event_type: &'static str,
    row: &MessageRow,
    correlation_id: Option<&str>,
) -> Result<RecordedEvent> {
    let draft = message_event(conn, caller, event_type, row)?;
    Ok(events::record(
        conn,
        draft
            .with(
                "root_message_id",
                (!row.is_root()).then(|| json!(row.thread_root_id)),
            )
            .with("correlation_id", text(correlation_id)),
    )?)
}

/// What every event about one message carries: where it is, who sees it
/// (a DM's members, or the workspace), its ids and author.
fn message_event(
    conn: &mut PgConnection,
    caller: &ActingUser,
    event_type: &'static str,
    row: &MessageRow,
) -> Result<EventDraft> {
    let audience = events::dm_audience(conn, row.conversation_id.as_deref())?;
    Ok(EventDraft::new(event_type, &caller.workspace_id)
        .channel(row.channel_id.as_deref())
        .audience(audience)
        .seq(row.seq)
        .with("message_id", json!(row.id))
        .with("author_id", json!(row.author_id))
        .with(
            "direct_conversation_id",
            text(row.conversation_id.as_deref()),
        ))
}
