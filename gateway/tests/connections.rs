//! The database connection budget: pools grow with load up to their size
//! and shrink back when idle, so an idle stack holds only a few connections
//! however large its pools (issue 13).
//!
//! At rest the stack holds its floor: eight dedicated connections (the
//! identity and realtime LISTEN connections, the identity and messaging
//! outbox relays' own connections, and one kept idle by each of the four
//! service pools) plus the few its periodic work (leases, the webhooks
//! feeder, worker and notices) keeps warm. Right after work a pool still
//! holds extra connections until they have been unused for the idle
//! timeout, so the test shortens that timeout and waits for the stack to
//! come to rest instead of counting at an arbitrary moment.

use clickclack_testkit::{DbPools, TestStack};
use serde_json::json;
use std::time::{Duration, Instant};

/// The most connections an idle stack may hold.
const IDLE_BUDGET: i64 = 12;
/// r2d2 closes idle connections on a fixed 30 s tick.
const REST_WITHIN: Duration = Duration::from_secs(45);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stack_holds_few_connections_however_large_its_pools() {
    // Pools of 16 each: r2d2 would open all 64 at start unless told not to.
    let pools = DbPools::all(16).idle_after(Duration::from_secs(1));
    let stack = TestStack::start_with_pools(pools).await;
    let boot = stack.bootstrap("acme").await;
    let (_, token) = stack
        .service_bot(&boot.workspace.id, "bot", "bot:write")
        .await;
    stack.events_settled().await;

    // The bootstrap's burst grew some pools; idle, they shrink to the floor.
    let started = Instant::now();
    let mut idle = stack.db.connections();
    while idle > IDLE_BUDGET && started.elapsed() < REST_WITHIN {
        tokio::time::sleep(Duration::from_millis(250)).await;
        idle = stack.db.connections();
    }
    assert!(
        idle <= IDLE_BUDGET,
        "a stack at rest for {:?} holds {idle} connections; the budget is {IDLE_BUDGET}",
        started.elapsed()
    );

    // Concurrent posts make the messaging pool grow past its idle size; the
    // peak is sampled while they run, since an extra connection may be
    // closed on r2d2's next tick once it has been unused for a second.
    let api = stack.api();
    let path = format!("/api/channels/{}/messages", boot.general.id);
    let posts: Vec<_> = (0..32)
        .map(|n| {
            let (api, path, token) = (api.clone(), path.clone(), token.clone());
            tokio::spawn(async move {
                api.post(&path, Some(&token), json!({ "body": format!("load {n}") }))
                    .await
                    .expect(201, "message");
            })
        })
        .collect();
    let load = tokio::spawn(async move {
        for post in posts {
            post.await.unwrap();
        }
    });
    let mut busy = idle;
    while !load.is_finished() {
        busy = busy.max(tokio::task::block_in_place(|| stack.db.connections()));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    load.await.unwrap();
    assert!(busy > idle, "pools grow under load ({idle} -> {busy})");
    // ...and never past the sizes: 4 pools of 16 plus the floor's own
    // connections (relays, listener, feeder, notices).
    assert!(busy <= 4 * 16 + 6, "{busy} connections");
    stack.stop().await;
}
