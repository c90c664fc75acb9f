//! Search over the messages the caller may read.

use super::{access, rules, views};
use crate::error::{MessagingError, Result};
use crate::store::{conversations, messages, search};
use clickclack_common::assertion::ActingUser;
use clickclack_common::scopes::Scope;
use diesel::PgConnection;
use std::collections::HashMap;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 100;

/// The continuation is the offset of the next page, e.g. `o50`.
fn parse_cursor(cursor: Option<&str>) -> Result<i64> {
    match cursor.filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(c) => c
            .strip_prefix('o')
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| MessagingError::Invalid("invalid search cursor".into())),
    }
}

pub fn search(
    conn: &mut PgConnection,
    caller: &ActingUser,
    query: &str,
    channel_id: Option<&str>,
    limit: u32,
    cursor: Option<&str>,
) -> Result<views::SearchResults> {
    let query = query.trim();
    if query.is_empty() {
        return Err(MessagingError::Invalid("q is required".into()));
    }
    if query.chars().count() > 256 {
        return Err(MessagingError::Invalid(
            "q must be at most 256 characters".into(),
        ));
    }
    let limit = rules::page_limit(limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let offset = parse_cursor(cursor)?;
    if let Some(channel_id) = channel_id {
        access::channel(conn, caller, channel_id)?;
    }
    // DMs are searched only for members holding dms:read.
    let conversation_ids = if caller.has_scope(Scope::DmsRead) && channel_id.is_none() {
        conversations::ids_for_member(conn, &caller.workspace_id, &caller.user_id)?
    } else {
        Vec::new()
    };
    let hits = search::messages(
        conn,
        &caller.workspace_id,
        query,
        channel_id,
        &conversation_ids,
        limit + 1,
        offset,
    )?;
    let next_cursor = (hits.len() as i64 > limit).then(|| format!("o{}", offset + limit));
    let hits: Vec<_> = hits.into_iter().take(limit as usize).collect();

    let ids: Vec<String> = hits.iter().map(|hit| hit.id.clone()).collect();
    let rows = messages::find_many(conn, &ids)?;
    let mut found: HashMap<String, views::Message> = views::messages(conn, &caller.user_id, rows)?
        .into_iter()
        .map(|message| (message.row.id.clone(), message))
        .collect();
    let hits = hits
        .into_iter()
        .filter_map(|hit| {
            found.remove(&hit.id).map(|message| views::SearchHit {
                message,
                rank: hit.rank,
                snippet: hit.snippet,
            })
        })
        .collect();
    Ok(views::SearchResults { hits, next_cursor })
}
