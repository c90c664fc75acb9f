//! The delivery queue on a fresh Postgres database: one delivery at a time
//! per subscription, in log order; due retries only; leases that expire;
//! several workers at once never take the same delivery, and each
//! subscription's deliveries still go out in order.

use chrono::{TimeDelta, Utc};
use clickclack_common::db;
use clickclack_testkit::TestDatabase;
use clickclack_webhooks::store::queue::{self, AttemptRow, Claimed, Finish, NewDelivery};
use clickclack_webhooks::store::subscriptions;
use clickclack_webhooks::{MIGRATIONS, SCHEMA};
use diesel::PgConnection;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

mod support;

const LEASE: Duration = Duration::from_secs(30);

async fn open_queue() -> (TestDatabase, db::PgPool) {
    let database = TestDatabase::create().await;
    let pool = db::connect(&database.url, SCHEMA, MIGRATIONS, 6).expect("migrate the queue");
    (database, pool)
}

fn subscribe(conn: &mut PgConnection, id: &str) {
    let row = support::subscription(id, "https://hooks.example.com/ci", vec![1, 2, 3]);
    subscriptions::insert(conn, &row).expect("a subscription");
}

fn offer(conn: &mut PgConnection, subscription: &str, positions: std::ops::Range<i64>) -> usize {
    let rows: Vec<NewDelivery> = positions
        .map(|position| NewDelivery {
            subscription_id: subscription.into(),
            event_id: format!("evt_{position}"),
            position,
            body: format!(r#"{{"position":{position}}}"#),
        })
        .collect();
    queue::enqueue(conn, &rows).expect("enqueue")
}

fn claim(conn: &mut PgConnection) -> Vec<(String, i64)> {
    let mut claimed: Vec<(String, i64)> = queue::claim(conn, 100, LEASE)
        .expect("claim")
        .into_iter()
        .map(|c| (c.subscription_id, c.position))
        .collect();
    claimed.sort();
    claimed
}

fn claim_rows(conn: &mut PgConnection) -> Vec<Claimed> {
    queue::claim(conn, 100, LEASE).expect("claim")
}

#[tokio::test]
async fn each_subscription_sends_one_delivery_at_a_time_in_log_order() {
    let (_database, pool) = open_queue().await;
    let mut conn = pool.get().unwrap();
    subscribe(&mut conn, "sub_a");
    subscribe(&mut conn, "sub_b");
    assert_eq!(offer(&mut conn, "sub_a", 1..4), 3);
    assert_eq!(offer(&mut conn, "sub_b", 10..12), 2);
    assert_eq!(
        offer(&mut conn, "sub_a", 1..4),
        0,
        "offered twice, queued once"
    );

    let heads = claim_rows(&mut conn);
    let mut got: Vec<(String, i64, i32)> = heads
        .iter()
        .map(|c| (c.subscription_id.clone(), c.position, c.attempt))
        .collect();
    got.sort();
    assert_eq!(got, vec![("sub_a".into(), 1, 1), ("sub_b".into(), 10, 1)]);
    assert!(claim(&mut conn).is_empty(), "both heads are being sent");

    // sub_a's head delivered: its next one is due; sub_b still sending.
    let a = heads.iter().find(|c| c.subscription_id == "sub_a").unwrap();
    assert!(queue::finish(&mut conn, a, Finish::Delivered).unwrap());
    assert_eq!(claim(&mut conn), vec![("sub_a".into(), 2)]);

    // sub_b's head failed for good: its next one goes.
    let b = heads.iter().find(|c| c.subscription_id == "sub_b").unwrap();
    assert!(queue::finish(&mut conn, b, Finish::Failed).unwrap());
    assert_eq!(claim(&mut conn), vec![("sub_b".into(), 11)]);
}

#[tokio::test]
async fn a_retry_waits_until_it_is_due_and_holds_back_only_its_subscription() {
    let (_database, pool) = open_queue().await;
    let mut conn = pool.get().unwrap();
    subscribe(&mut conn, "sub_slow");
    subscribe(&mut conn, "sub_fine");
    offer(&mut conn, "sub_slow", 1..3);
    offer(&mut conn, "sub_fine", 1..3);
    let heads = claim_rows(&mut conn);
    let slow = heads
        .iter()
        .find(|c| c.subscription_id == "sub_slow")
        .unwrap();
    let fine = heads
        .iter()
        .find(|c| c.subscription_id == "sub_fine")
        .unwrap();
    let later = Utc::now() + TimeDelta::milliseconds(600);
    assert!(queue::finish(&mut conn, slow, Finish::RetryAt(later)).unwrap());
    assert!(queue::finish(&mut conn, fine, Finish::Delivered).unwrap());
    // The slow endpoint's retry is not due, and its next event waits
    // behind it; the other subscription goes on.
    assert_eq!(claim(&mut conn), vec![("sub_fine".into(), 2)]);
    assert!(claim(&mut conn).is_empty());
    tokio::time::sleep(Duration::from_millis(700)).await;
    let retried = claim_rows(&mut conn);
    assert_eq!(retried.len(), 1);
    assert_eq!(
        (
            retried[0].subscription_id.as_str(),
            retried[0].position,
            retried[0].attempt
        ),
        ("sub_slow", 1, 2),
        "the same delivery, second attempt"
    );
}

#[tokio::test]
async fn a_lapsed_lease_is_taken_over_and_the_old_holder_cannot_finish_it() {
    let (_database, pool) = open_queue().await;
    let mut conn = pool.get().unwrap();
    subscribe(&mut conn, "sub_a");
    offer(&mut conn, "sub_a", 1..2);
    let first = queue::claim(&mut conn, 10, Duration::from_millis(300)).unwrap();
    assert_eq!(first.len(), 1);
    assert!(claim(&mut conn).is_empty(), "held while the lease runs");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = claim_rows(&mut conn);
    assert_eq!(second.len(), 1, "taken over once the lease ran out");
    assert_eq!(second[0].attempt, 2);
    assert!(
        !queue::finish(&mut conn, &first[0], Finish::Delivered).unwrap(),
        "the first worker no longer holds it"
    );
    assert!(queue::finish(&mut conn, &second[0], Finish::Delivered).unwrap());
}

#[tokio::test]
async fn revoked_and_disabled_subscriptions_send_nothing() {
    let (_database, pool) = open_queue().await;
    let mut conn = pool.get().unwrap();
    subscribe(&mut conn, "sub_gone");
    offer(&mut conn, "sub_gone", 1..3);
    assert_eq!(
        subscriptions::disable(&mut conn, "sub_gone", "410 Gone").unwrap(),
        1
    );
    assert_eq!(
        subscriptions::disable(&mut conn, "sub_gone", "again").unwrap(),
        0,
        "the first reason stays"
    );
    assert!(claim(&mut conn).is_empty());
    let row = subscriptions::find(&mut conn, "sub_gone").unwrap().unwrap();
    assert_eq!(row.disabled_reason.as_deref(), Some("410 Gone"));
}

#[tokio::test]
async fn a_failing_streak_starts_once_and_a_success_ends_it() {
    let (_database, pool) = open_queue().await;
    let mut conn = pool.get().unwrap();
    subscribe(&mut conn, "sub_a");
    let since = subscriptions::note_outcome(&mut conn, "sub_a", false)
        .unwrap()
        .expect("failing");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let still = subscriptions::note_outcome(&mut conn, "sub_a", false).unwrap();
    assert_eq!(still, Some(since), "the streak keeps its start");
    assert_eq!(
        subscriptions::note_outcome(&mut conn, "sub_a", true).unwrap(),
        None
    );
}

/// Four workers claim and finish at once, over and over: every delivery
/// is sent exactly once and each subscription's go out in log order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_in_parallel_share_the_queue_without_sending_twice() {
    let (_database, pool) = open_queue().await;
    {
        let mut conn = pool.get().unwrap();
        for n in 0..10 {
            let id = format!("sub_{n}");
            subscribe(&mut conn, &id);
            offer(&mut conn, &id, 0..20);
        }
    }
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, i64)>::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (pool, sent) = (pool.clone(), sent.clone());
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                let mut idle = 0;
                while idle < 20 {
                    let claimed = queue::claim(&mut conn, 3, LEASE).unwrap();
                    if claimed.is_empty() {
                        idle += 1;
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    idle = 0;
                    for delivery in claimed {
                        sent.lock()
                            .unwrap()
                            .push((delivery.subscription_id.clone(), delivery.position));
                        assert!(queue::finish(&mut conn, &delivery, Finish::Delivered).unwrap());
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker");
    }
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 200, "every delivery once");
    let distinct: BTreeSet<&(String, i64)> = sent.iter().collect();
    assert_eq!(distinct.len(), 200, "none twice");
    let mut per_subscription: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (subscription, position) in &sent {
        per_subscription
            .entry(subscription)
            .or_default()
            .push(*position);
    }
    for (subscription, positions) in per_subscription {
        assert_eq!(
            positions,
            (0..20).collect::<Vec<_>>(),
            "{subscription} in order"
        );
    }
}

#[tokio::test]
async fn the_log_pages_newest_first_and_forgets_after_its_retention() {
    let (_database, pool) = open_queue().await;
    let mut conn = pool.get().unwrap();
    subscribe(&mut conn, "sub_a");
    offer(&mut conn, "sub_a", 1..2);
    let delivery = claim_rows(&mut conn).remove(0);
    let now = Utc::now();
    for n in 0..5 {
        queue::record_attempt(
            &mut conn,
            &AttemptRow {
                id: format!("eda_{n}"),
                delivery_id: delivery.id,
                subscription_id: "sub_a".into(),
                event_id: delivery.event_id.clone(),
                attempt: n + 1,
                response_status: 500,
                latency_ms: 12,
                response_body: "busy".into(),
                error: None,
                // eda_0 is eight days old.
                attempted_at: now - TimeDelta::days(i64::from(8 - 2 * n).max(0))
                    + TimeDelta::seconds(i64::from(n)),
            },
        )
        .unwrap();
    }
    let first = queue::recent_attempts(&mut conn, "sub_a", 2, None).unwrap();
    let ids: Vec<&str> = first.iter().map(|row| row.id.as_str()).collect();
    assert_eq!(ids, ["eda_4", "eda_3"]);
    let next = queue::recent_attempts(&mut conn, "sub_a", 10, first.last()).unwrap();
    let ids: Vec<&str> = next.iter().map(|row| row.id.as_str()).collect();
    assert_eq!(ids, ["eda_2", "eda_1", "eda_0"]);
    assert!(queue::finish(&mut conn, &delivery, Finish::Delivered).unwrap());
    let (lines, finished) = queue::purge_before(&mut conn, now - TimeDelta::days(7)).unwrap();
    assert_eq!((lines, finished), (1, 0), "only eda_0 is past seven days");
    let left = queue::recent_attempts(&mut conn, "sub_a", 10, None).unwrap();
    assert_eq!(left.len(), 4);
}

#[tokio::test]
async fn the_next_of_one_subscription_is_taken_only_when_it_is_its_due_head() {
    let (_database, pool) = open_queue().await;
    let mut conn = pool.get().unwrap();
    subscribe(&mut conn, "sub_a");
    subscribe(&mut conn, "sub_b");
    offer(&mut conn, "sub_a", 1..4);
    offer(&mut conn, "sub_b", 1..3);
    let head = |conn: &mut PgConnection, id: &str| {
        queue::claim_head_of(conn, id, LEASE)
            .expect("claim the head")
            .map(|claimed| (claimed.subscription_id, claimed.position))
    };

    let first = queue::claim_head_of(&mut conn, "sub_a", LEASE)
        .unwrap()
        .expect("sub_a's head");
    assert_eq!((first.position, first.attempt), (1, 1));
    assert_eq!(head(&mut conn, "sub_a"), None, "its head is being sent");
    // Delivered: the next one is sub_a's, never another subscription's.
    assert!(queue::finish(&mut conn, &first, Finish::Delivered).unwrap());
    let second_of_a = queue::claim_head_of(&mut conn, "sub_a", LEASE)
        .unwrap()
        .expect("sub_a's next");
    assert_eq!(second_of_a.position, 2);

    // A head put off until later is not due yet.
    let second = queue::claim_head_of(&mut conn, "sub_b", LEASE)
        .unwrap()
        .unwrap();
    let later = Utc::now() + TimeDelta::minutes(5);
    assert!(queue::finish(&mut conn, &second, Finish::RetryAt(later)).unwrap());
    assert_eq!(head(&mut conn, "sub_b"), None, "the retry is not due");

    // A disabled subscription gives nothing more.
    assert!(queue::finish(&mut conn, &second_of_a, Finish::Delivered).unwrap());
    subscriptions::disable(&mut conn, "sub_a", "test").unwrap();
    assert_eq!(head(&mut conn, "sub_a"), None, "disabled");
    assert!(claim(&mut conn).is_empty(), "nor does the claim loop");
}
