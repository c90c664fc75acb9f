//! The log's rules: idempotent, ordered appends; who sees what; when a
//! subscriber must re-sync.

use crate::error::{RealtimeError, Result, Resync};
use crate::hub::EphemeralWire;
use crate::store::events::{self, EventRow};
use clickclack_common::assertion::{ActingUser, CallerKind, Claims};
use clickclack_common::{cursor, ids, visibility};
use clickclack_proto::realtime as rt;
use diesel::{Connection, PgConnection};
use std::collections::HashMap;

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
    // One batch is one transaction (group commit): cursors are assigned
    // under the head row's lock, then one multi-row insert, one head update
    // and one NOTIFY.
    conn.transaction(|conn| {
        let head = events::lock_head(conn)?;
        if let Some(stored) = append_all_new(conn, head, &incoming)? {
            return Ok(stored);
        }
        append_some_known(conn, head, incoming)
    })
}

/// The common case, a batch of events never seen before, in one statement.
/// `None` (and nothing stored) when some id was seen before.
fn append_all_new(
    conn: &mut PgConnection,
    head: i64,
    incoming: &[rt::Event],
) -> Result<Option<Vec<rt::Event>>> {
    let rows: Vec<EventRow> = incoming
        .iter()
        .zip(head + 1..)
        .map(|(event, position)| to_row(event.clone(), position))
        .collect();
    let mut unique_ids: Vec<&str> = incoming.iter().map(|event| event.id.as_str()).collect();
    unique_ids.sort_unstable();
    unique_ids.dedup();
    if unique_ids.len() != rows.len() {
        return Ok(None);
    }
    // A savepoint: rows of a partly-known batch must not keep positions
    // (cursors stay gapless), so that batch is undone and redone below.
    let inserted = conn.transaction(|conn| {
        let inserted = events::insert_new(conn, &rows)?;
        if inserted == rows.len() {
            Ok(true)
        } else {
            Err(diesel::result::Error::RollbackTransaction)
        }
    });
    match inserted {
        Ok(_) => {}
        Err(diesel::result::Error::RollbackTransaction) => return Ok(None),
        Err(error) => return Err(error.into()),
    }
    let last = head + rows.len() as i64;
    if !rows.is_empty() {
        events::set_head(conn, last)?;
        events::notify(conn)?;
    }
    Ok(Some(rows.into_iter().map(to_pb).collect()))
}

/// A batch with ids seen before (a producer re-sending after a crash): those
/// keep their first position, the rest are appended after the head.
fn append_some_known(
    conn: &mut PgConnection,
    mut head: i64,
    incoming: Vec<rt::Event>,
) -> Result<Vec<rt::Event>> {
    let ids: Vec<&str> = incoming.iter().map(|event| event.id.as_str()).collect();
    let mut known: HashMap<String, EventRow> = events::find_many(conn, &ids)?
        .into_iter()
        .map(|row| (row.event_id.clone(), row))
        .collect();
    let mut fresh = Vec::new();
    let mut order = Vec::with_capacity(incoming.len());
    for event in incoming {
        if !known.contains_key(&event.id) {
            head += 1;
            let row = to_row(event.clone(), head);
            // A repeated id inside the batch keeps its first position too.
            known.insert(event.id.clone(), row.clone());
            fresh.push(row);
        }
        order.push(event.id);
    }
    if !fresh.is_empty() {
        events::insert_many(conn, &fresh)?;
        events::set_head(conn, head)?;
        events::notify(conn)?;
    }
    Ok(order.iter().map(|id| to_pb(known[id].clone())).collect())
}

fn to_row(event: rt::Event, position: i64) -> EventRow {
    EventRow {
        position,
        event_id: event.id,
        event_type: event.r#type,
        workspace_id: event.workspace_id,
        channel_id: event.channel_id,
        seq: event.seq,
        audience: event.audience,
        payload: serde_json::from_str(&event.payload_json).expect("checked by append"),
        created_at: event.created_at,
    }
}

/// Producers append as a service, never as a user.
pub fn require_producer(caller: &Claims) -> Result<()> {
    if caller.caller_kind() == Some(CallerKind::Service) {
        Ok(())
    } else {
        Err(RealtimeError::Forbidden(
            "only services may append events".into(),
        ))
    }
}

/// Readers see their workspace's events whose audience is empty or names
/// them (the rule every reader of the log shares).
pub fn event_visible_to(event: &rt::Event, caller: &ActingUser) -> bool {
    visibility::visible_to(event, caller.workspace_id.as_str(), caller.user_id.as_str())
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
    caller: &ActingUser,
    after_cursor: &str,
) -> Result<i64> {
    if after_cursor.is_empty() {
        return Ok(events::nth_newest_visible(
            conn,
            &caller.workspace_id,
            &caller.user_id,
            MAX_REPLAY,
        )?
        .map_or(0, |oldest| oldest - 1));
    }
    let position = position_of(conn, after_cursor)?;
    let pending = events::count_visible_after(
        conn,
        &caller.workspace_id,
        &caller.user_id,
        position,
        MAX_REPLAY + 1,
    )?;
    if pending > MAX_REPLAY {
        return Err(RealtimeError::ResyncRequired(Resync::TooFarBehind));
    }
    Ok(position)
}

/// One page of `List`: the visible events after `after_cursor`, and the
/// cursor of the newest visible event when `include_tail` asks for it.
pub fn list(
    conn: &mut PgConnection,
    caller: &ActingUser,
    after_cursor: &str,
    limit: i64,
    include_tail: bool,
) -> Result<rt::EventList> {
    let after = position_of(conn, after_cursor)?;
    let events = events::visible_after(conn, &caller.workspace_id, &caller.user_id, after, limit)?
        .into_iter()
        .map(to_pb)
        .collect();
    let tail_cursor = if include_tail {
        Some(
            events::visible_tail(conn, &caller.workspace_id, &caller.user_id)?
                .map(cursor::encode)
                .unwrap_or_default(),
        )
    } else {
        None
    };
    Ok(rt::EventList {
        events,
        tail_cursor,
    })
}

/// Where a gateway's `Follow` starts: after its cursor, or at the tail.
pub fn follow_start(conn: &mut PgConnection, after_cursor: &str) -> Result<i64> {
    if after_cursor.is_empty() {
        Ok(events::head(conn)?)
    } else {
        position_of(conn, after_cursor)
    }
}

/// Up to `limit` events after `position` for a subscriber catching up:
/// those `viewer` may see, or every event for a gateway's feed (`None`).
pub fn replay_after(
    conn: &mut PgConnection,
    viewer: Option<&ActingUser>,
    position: i64,
    limit: i64,
) -> Result<Vec<EventRow>> {
    Ok(match viewer {
        Some(viewer) => {
            events::visible_after(conn, &viewer.workspace_id, &viewer.user_id, position, limit)?
        }
        None => events::all_after(conn, position, limit)?,
    })
}

/// Postgres caps NOTIFY payloads at 8000 bytes.
const MAX_EPHEMERAL_BYTES: usize = 7900;

/// A live-only event (never stored, no cursor) in the caller's own
/// workspace, checked and encoded for [`publish`]; no database needed, so
/// a bad one is refused before a connection is taken.
pub struct Ephemeral {
    wire: EphemeralWire,
    payload: String,
}

pub fn ephemeral(caller: &Claims, event: Option<rt::Event>) -> Result<Ephemeral> {
    let event = event.ok_or_else(|| RealtimeError::Invalid("event is required".into()))?;
    if event.r#type.is_empty() {
        return Err(RealtimeError::Invalid("event type is required".into()));
    }
    if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&event.payload_json)
        .is_err()
    {
        return Err(RealtimeError::Invalid(
            "payload must be a JSON object".into(),
        ));
    }
    let wire = EphemeralWire {
        id: ids::new_id("eph_"),
        r#type: event.r#type,
        // A caller only ever publishes into its own workspace.
        workspace_id: caller.wsp.clone(),
        channel_id: event.channel_id,
        created_at: clickclack_common::time::rfc3339(&chrono::Utc::now()),
        payload_json: event.payload_json,
        audience: event.audience,
    };
    let payload = serde_json::to_string(&wire).expect("serialisable");
    if payload.len() > MAX_EPHEMERAL_BYTES {
        return Err(RealtimeError::Invalid(
            "ephemeral event is too large".into(),
        ));
    }
    Ok(Ephemeral { wire, payload })
}

/// Hands the event to every replica's subscribers.
pub fn publish(conn: &mut PgConnection, event: Ephemeral) -> Result<rt::Event> {
    events::notify_ephemeral(conn, &event.payload)?;
    Ok(event.wire.into())
}

/// Events per backfill page.
pub const BACKFILL_PAGE: i64 = 500;

/// One page of what a new subscription replays (see `Backfill` in the
/// proto): the first page applies [`subscription_start`], later ones
/// continue after the previous page's `covered_cursor`.
///
/// The head is read before the events, so every position up to it has
/// committed (positions commit in order) and the page can vouch for all
/// of them: a caller that also follows the live log skips those positions
/// there and misses none after them.
pub fn backfill_page(
    conn: &mut PgConnection,
    caller: &ActingUser,
    after_cursor: &str,
    resume: bool,
) -> Result<rt::BackfillPage> {
    let start = if resume {
        position_of(conn, after_cursor)?
    } else {
        subscription_start(conn, caller, after_cursor)?
    };
    let head = events::head(conn)?;
    let rows = events::visible_between(
        conn,
        &caller.workspace_id,
        &caller.user_id,
        start,
        head,
        BACKFILL_PAGE,
    )?;
    let full = rows.len() as i64 == BACKFILL_PAGE;
    let covered = match rows.last() {
        Some(last) if full => last.position,
        _ => head.max(start),
    };
    Ok(rt::BackfillPage {
        events: rows.into_iter().map(to_pb).collect(),
        covered_cursor: cursor::encode(covered),
        complete: !full,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn human(user: &str, workspace: &str) -> Claims {
        Claims::new(user, "human", workspace, "member", &BTreeSet::new())
    }

    fn reader(user: &str, workspace: &str) -> ActingUser {
        ActingUser::from_claims(human(user, workspace)).expect("a user in a workspace")
    }

    fn event(workspace: &str, audience: &[&str]) -> rt::Event {
        rt::Event {
            r#type: "typing.started".into(),
            workspace_id: workspace.into(),
            payload_json: "{}".into(),
            audience: audience.iter().map(|user| user.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn readers_see_public_events_and_those_naming_them_in_their_workspace_only() {
        let ana = reader("usr_ana", "wsp_1");
        assert!(event_visible_to(&event("wsp_1", &[]), &ana));
        assert!(event_visible_to(
            &event("wsp_1", &["usr_bo", "usr_ana"]),
            &ana
        ));
        assert!(!event_visible_to(&event("wsp_1", &["usr_bo"]), &ana));
        assert!(!event_visible_to(&event("wsp_2", &[]), &ana));
        assert!(!event_visible_to(&event("wsp_2", &["usr_ana"]), &ana));
    }

    #[test]
    fn an_ephemeral_event_goes_to_the_callers_workspace_whatever_it_names() {
        let published = ephemeral(&human("usr_ana", "wsp_1"), Some(event("wsp_other", &[])))
            .expect("a valid event");
        let event: rt::Event = published.wire.into();
        assert_eq!(event.workspace_id, "wsp_1");
        assert!(event.id.starts_with("eph_"), "{}", event.id);
        assert!(event.cursor.is_empty(), "ephemeral events have no cursor");
    }

    #[test]
    fn bad_ephemeral_events_are_refused_with_a_reason() {
        let caller = human("usr_ana", "wsp_1");
        let refused = |event: Option<rt::Event>| match ephemeral(&caller, event) {
            Err(RealtimeError::Invalid(reason)) => reason,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("accepted"),
        };
        assert_eq!(refused(None), "event is required");
        let untyped = rt::Event {
            r#type: String::new(),
            ..event("wsp_1", &[])
        };
        assert_eq!(refused(Some(untyped)), "event type is required");
        let not_object = rt::Event {
            payload_json: "[1]".into(),
            ..event("wsp_1", &[])
        };
        assert_eq!(refused(Some(not_object)), "payload must be a JSON object");
        let huge = rt::Event {
            payload_json: format!("{{\"text\":\"{}\"}}", "x".repeat(MAX_EPHEMERAL_BYTES)),
            ..event("wsp_1", &[])
        };
        assert_eq!(refused(Some(huge)), "ephemeral event is too large");
    }
}
