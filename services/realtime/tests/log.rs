//! The event log's rules, exercised through the realtime crate's own domain
//! on a fresh Postgres database: appends are ordered, gapless and
//! idempotent by event id; readers see only their workspace's public events
//! and those addressed to them; a cursor the log cannot honour means
//! re-sync.

use clickclack_common::assertion::{ActingUser, Claims};
use clickclack_common::{cursor, db};
use clickclack_proto::realtime as rt;
use clickclack_realtime::error::{RealtimeError, Resync};
use clickclack_realtime::{MIGRATIONS, SCHEMA, domain};
use clickclack_testkit::TestDatabase;
use std::collections::BTreeSet;

fn event(id: &str, workspace: &str, audience: &[&str]) -> rt::Event {
    rt::Event {
        id: id.into(),
        r#type: "message.created".into(),
        workspace_id: workspace.into(),
        channel_id: Some("chn_1".into()),
        payload_json: format!(r#"{{"message_id":"{id}"}}"#),
        audience: audience.iter().map(|a| a.to_string()).collect(),
        created_at: "2026-12-01T00:00:00Z".into(),
        ..Default::default()
    }
}

fn reader(user: &str, workspace: &str) -> ActingUser {
    ActingUser::from_claims(Claims::new(
        user,
        "human",
        workspace,
        "member",
        &BTreeSet::new(),
    ))
    .expect("a user in a workspace")
}

fn positions(events: &[rt::Event]) -> Vec<i64> {
    events
        .iter()
        .map(|e| cursor::decode(&e.cursor).expect("a cursor"))
        .collect()
}

async fn open_log() -> (TestDatabase, db::PgPool) {
    let database = TestDatabase::create().await;
    let pool = db::connect(&database.url, SCHEMA, MIGRATIONS, 2).expect("migrate the log");
    (database, pool)
}

#[tokio::test]
async fn appends_are_ordered_gapless_and_idempotent_by_id() {
    let (_database, pool) = open_log().await;
    let mut conn = pool.get().expect("a connection");

    let first = domain::append(
        &mut conn,
        vec![event("evt_a", "wsp_1", &[]), event("evt_b", "wsp_1", &[])],
    )
    .expect("append");
    assert_eq!(positions(&first), [1, 2]);

    // A producer re-sending after a crash: known ids keep their first
    // position, a repeat inside the batch too, and new ones follow the head
    // with no gap.
    let again = domain::append(
        &mut conn,
        vec![
            event("evt_b", "wsp_1", &[]),
            event("evt_c", "wsp_1", &[]),
            event("evt_c", "wsp_1", &[]),
            event("evt_a", "wsp_1", &[]),
        ],
    )
    .expect("append again");
    assert_eq!(positions(&again), [2, 3, 3, 1]);

    let next = domain::append(&mut conn, vec![event("evt_d", "wsp_1", &[])]).expect("append");
    assert_eq!(positions(&next), [4], "no position was lost to the repeats");
}

#[tokio::test]
async fn malformed_events_are_refused_and_nothing_is_stored() {
    let (_database, pool) = open_log().await;
    let mut conn = pool.get().expect("a connection");
    let mut no_payload_object = event("evt_bad", "wsp_1", &[]);
    no_payload_object.payload_json = "[1, 2]".into();
    for bad in [
        event("", "wsp_1", &[]),
        event("evt_x", "", &[]),
        no_payload_object,
    ] {
        let refused = domain::append(&mut conn, vec![event("evt_ok", "wsp_1", &[]), bad]);
        assert!(
            matches!(refused, Err(RealtimeError::Invalid(_))),
            "{refused:?}"
        );
    }
    let stored = domain::append(&mut conn, vec![event("evt_ok", "wsp_1", &[])]).expect("append");
    assert_eq!(
        positions(&stored),
        [1],
        "the refused batches stored nothing"
    );
}

#[tokio::test]
async fn readers_see_their_workspace_public_events_and_those_addressed_to_them() {
    let (_database, pool) = open_log().await;
    let mut conn = pool.get().expect("a connection");
    let history = vec![
        event("evt_public", "wsp_1", &[]),
        event("evt_for_ana", "wsp_1", &["usr_ana"]),
        event("evt_for_bo", "wsp_1", &["usr_bo"]),
        event("evt_elsewhere", "wsp_2", &[]),
    ];
    domain::append(&mut conn, history.clone()).expect("append");

    let ana = reader("usr_ana", "wsp_1");
    let page = domain::backfill_page(&mut conn, &ana, &cursor::encode(0), false).expect("page");
    let ids: Vec<&str> = page.events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["evt_public", "evt_for_ana"]);
    assert!(page.complete);
    assert_eq!(
        page.covered_cursor,
        cursor::encode(4),
        "the page vouches up to the head"
    );

    // The in-memory rule (live fan-out) agrees with the SQL one (backfill).
    let all = domain::append(&mut conn, history).expect("re-append is a lookup");
    let visible: Vec<&str> = all
        .iter()
        .filter(|e| domain::event_visible_to(e, &ana))
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(visible, ids);
}

#[tokio::test]
async fn cursors_the_log_cannot_honour_mean_resync() {
    let (_database, pool) = open_log().await;
    let mut conn = pool.get().expect("a connection");
    domain::append(&mut conn, vec![event("evt_1", "wsp_1", &[])]).expect("append");
    let ana = reader("usr_ana", "wsp_1");

    let unknown = domain::subscription_start(&mut conn, &ana, "cur_not-a-cursor");
    assert!(
        matches!(
            unknown,
            Err(RealtimeError::ResyncRequired(Resync::UnknownCursor))
        ),
        "{unknown:?}"
    );
    let future = domain::subscription_start(&mut conn, &ana, &cursor::encode(99));
    assert!(
        matches!(
            future,
            Err(RealtimeError::ResyncRequired(Resync::CursorPastTail))
        ),
        "{future:?}"
    );
    assert_eq!(
        domain::subscription_start(&mut conn, &ana, &cursor::encode(1)).expect("at the tail"),
        1
    );
    assert_eq!(
        domain::subscription_start(&mut conn, &ana, "").expect("no cursor"),
        0,
        "without a cursor the recent backlog (here: everything) is replayed"
    );
}

#[test]
fn only_services_may_append() {
    assert!(domain::require_producer(&Claims::service("svc:messaging", "")).is_ok());
    assert!(matches!(
        domain::require_producer(&Claims::new(
            "usr_ana",
            "human",
            "wsp_1",
            "member",
            &BTreeSet::new()
        )),
        Err(RealtimeError::Forbidden(_))
    ));
}
