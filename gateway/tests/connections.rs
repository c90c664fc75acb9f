//! The database connection budget: pools grow with load up to their size
//! and an idle stack holds only a few connections (issue 13: an idle
//! `clickclack dev` held at most 20; the webhooks service, added since,
//! keeps one or two more idle: its feeder, worker and notices can overlap
//! and open a second pool connection, kept until it has been idle a
//! minute; so the budget is 22).

use clickclack_testkit::{DbPools, TestStack};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stack_holds_few_connections_however_large_its_pools() {
    // Pools of 16 each: r2d2 would open all 48 at start unless told not to.
    let stack = TestStack::start_with_pools(DbPools::all(16)).await;
    let boot = stack.bootstrap("acme").await;
    let (_, token) = stack
        .service_bot(&boot.workspace.id, "bot", "bot:write")
        .await;
    stack.events_settled().await;
    let idle = stack.db.connections();
    assert!(
        idle <= 22,
        "a stack at rest holds {idle} connections; the budget is 22"
    );

    // Concurrent posts make the messaging pool grow past its idle size...
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
    for post in posts {
        post.await.unwrap();
    }
    stack.events_settled().await;
    let busy = stack.db.connections();
    assert!(busy > idle, "pools grow under load ({idle} -> {busy})");
    // ...and never past the sizes: 3 pools, 2 relays, 2 listeners.
    assert!(busy <= 3 * 16 + 4, "{busy} connections");
    stack.stop().await;
}
