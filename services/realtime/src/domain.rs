//! The log's rules: idempotent, ordered appends; who sees what; when a
//! subscriber must re-sync.

use crate::error::{RealtimeError, Result, Resync};
use crate::store::events::{self, EventRow};
use clickclack_common::assertion::Claims;
use clickclack_common::cursor;
use clickclack_proto::realtime as rt;
use diesel::{Connection, PgConnection};

/// More events than this between a cursor and now: re-sync instead of replay.
pub const MAX_REPLAY: i64 = 5_000;
pub const DEFAULT_LIST: u32 = 200;
pub const MAX_LIST: u32 = 500;

/// Appends events in the given order. An event id seen before keeps its
/// first position and is not stored again.
pub fn append(conn: &mut PgConnection, incoming: Vec<rt::Event>) -> Result<Vec<rt::Event>> {
    for event in &incoming {
        if event.id.is_empty() || event.r#type.is_empty() || event.workspace_id.is_empty() {
            return Err(RealtimeError::Invalid(
                "events need an id, a type and a workspace_id".into(),
            ));
        }
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&event.payload_json)
            .map_err(|_| {
                RealtimeError::Invalid(format!(
                    "event {} has a payload that is not a JSON object",
                    event.id
                ))
            })?;
    }
    conn.transaction(|conn| {
        let mut head = events::lock_head(conn)?;
        let mut stored = Vec::with_capacity(incoming.len());
        let mut appended_any = false;
        for event in incoming {
            if let Some(existing) = events::find(conn, &event.id)? {
                stored.push(to_pb(existing));
                continue;
            }
            head += 1;
            let row = events::insert(
                conn,
                &EventRow {
                    position: head,
                    event_id: event.id,
                    event_type: event.r#type,
                    workspace_id: event.workspace_id,
                    channel_id: event.channel_id,
                    seq: event.seq,
                    audience: event.audience,
                    payload: serde_json::from_str(&event.payload_json).expect("checked above"),
                    created_at: event.created_at,
                },
            )?;
            stored.push(to_pb(row));
            appended_any = true;
        }
        if appended_any {
            events::set_head(conn, head)?;
            events::notify(conn)?;
        }
        Ok(stored)
    })
}

/// Producers append as a service, never as a user.
pub fn require_producer(caller: &Claims) -> Result<()> {
    if caller.kind == "service" {
        Ok(())
    } else {
        Err(RealtimeError::Forbidden(
            "only services may append events".into(),
        ))
    }
}

/// Readers see their workspace's events whose audience is empty or names
/// them (the store applies the same rule in SQL for backfills).
pub fn event_visible_to(event: &rt::Event, caller: &Claims) -> bool {
    event.workspace_id == caller.wsp
        && (event.audience.is_empty() || event.audience.contains(&caller.sub))
}

/// Parses a client cursor: unknown or from the future means re-sync.
pub fn position_of(conn: &mut PgConnection, cursor_text: &str) -> Result<i64> {
    let position =
        cursor::decode(cursor_text).ok_or(RealtimeError::ResyncRequired(Resync::UnknownCursor))?;
    if position > events::head(conn)? {
        return Err(RealtimeError::ResyncRequired(Resync::CursorPastTail));
    }
    Ok(position)
}

/// Where a new subscription starts reading (it sends what follows).
///
/// With a cursor: right after it, unless more than [`MAX_REPLAY`] visible
/// events follow (then the client must re-sync). Without one: just before
/// the newest [`MAX_REPLAY`] visible events of the workspace, so a runtime
/// that connects fresh still gets the recent backlog (API.md §8).
pub fn subscription_start(
    conn: &mut PgConnection,
    caller: &Claims,
    after_cursor: &str,
) -> Result<i64> {
    if after_cursor.is_empty() {
        return Ok(
            events::nth_newest_visible(conn, &caller.wsp, &caller.sub, MAX_REPLAY)?
                .map_or(0, |oldest| oldest - 1),
        );
    }
    let position = position_of(conn, after_cursor)?;
    let pending =
        events::count_visible_after(conn, &caller.wsp, &caller.sub, position, MAX_REPLAY + 1)?;
    if pending > MAX_REPLAY {
        return Err(RealtimeError::ResyncRequired(Resync::TooFarBehind));
    }
    Ok(position)
}

pub fn to_pb(row: EventRow) -> rt::Event {
    rt::Event {
        id: row.event_id,
        cursor: cursor::encode(row.position),
        r#type: row.event_type,
        workspace_id: row.workspace_id,
        channel_id: row.channel_id,
        seq: row.seq,
        created_at: row.created_at,
        payload_json: row.payload.to_string(),
        audience: row.audience,
    }
}
