//! The webhooks service as its own process (`clickclack-webhooks`), killed
//! with SIGKILL in the middle of sending: every event still arrives, and an
//! event sent twice carries the same `webhook-id` and body both times.

use clickclack_testkit::webhooks::{Answer, Receiver};
use clickclack_testkit::{TestStack, WebhookSettings};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

const INTERNAL_KEY: &str = "a-test-internal-key-that-is-not-the-dev-one";
const OPERATOR_KEY: &str = "a-test-operator-key-that-is-not-the-dev-one";

/// Starts `clickclack-webhooks` against the stack's database and services.
fn spawn_service(stack: &mut TestStack) -> tokio::process::Child {
    let config = stack.webhooks_config();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_clickclack-webhooks"))
        .env("DATABASE_URL", &config.database_url)
        .env("CLICKCLACK_WEBHOOKS_LISTEN", format!("127.0.0.1:{port}"))
        .env("CLICKCLACK_INTERNAL_KEY", INTERNAL_KEY)
        .env("CLICKCLACK_OPERATOR_KEY", OPERATOR_KEY)
        .env("CLICKCLACK_IDENTITY_ADDR", &config.identity_addr)
        .env("CLICKCLACK_REALTIME_ADDR", &config.realtime_addr)
        .env("CLICKCLACK_WEBHOOKS_ALLOW_PRIVATE", "true")
        .env("CLICKCLACK_WEBHOOKS_LEASE_SECONDS", "1")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("start clickclack-webhooks")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_loses_nothing_and_repeats_only_with_the_same_id() {
    let mut stack = TestStack::start_with_key_and_webhooks(
        INTERNAL_KEY,
        WebhookSettings {
            lease_seconds: 1,
            ..WebhookSettings::default()
        },
    )
    .await;
    let boot = stack.bootstrap("killed").await;
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let mut receiver = Receiver::start().await;
    // Slow enough that a kill lands while attempts are under way.
    receiver.answer(Answer::Delayed(200, 150));
    stack
        .api()
        .post(
            &format!("/api/workspaces/{}/event-subscriptions", boot.workspace.id),
            Some(&owner),
            json!({ "event_types": ["message.created"], "callback_url": receiver.url }),
        )
        .await
        .expect(201, "subscribe");
    // From here on only the process sends.
    stack.stop_webhooks().await;
    let mut service = spawn_service(&mut stack);

    const EVENTS: usize = 40;
    for n in 0..EVENTS {
        stack
            .api()
            .post(
                &format!("/api/channels/{}/messages", boot.general.id),
                Some(&owner),
                json!({ "body": format!("m{n}") }),
            )
            .await
            .expect(201, "post");
    }
    let mut received = receiver.take(8, Duration::from_secs(30)).await;
    service.start_kill().expect("SIGKILL");
    service.wait().await.expect("reaped");
    let mut service = spawn_service(&mut stack);

    // Everything arrives; whatever comes twice is the same delivery.
    let mut bodies: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut first_seen: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        for delivery in received.drain(..) {
            let id = delivery.header("webhook-id").expect("an id").to_owned();
            match bodies.get(&id) {
                Some(body) => assert_eq!(body, &delivery.body, "a repeat of {id} differs"),
                None => {
                    first_seen.push(id.clone());
                    bodies.insert(id, delivery.body.clone());
                }
            }
        }
        if bodies.len() == EVENTS {
            break;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match receiver.next(left).await {
            Some(delivery) => received.push(delivery),
            None => panic!("{} of {EVENTS} events arrived after the kill", bodies.len()),
        }
    }
    // And in log order: the first arrival of each event follows cursor order.
    let cursors: Vec<String> = first_seen
        .iter()
        .map(|id| {
            let body: serde_json::Value = serde_json::from_slice(&bodies[id]).unwrap();
            body["event"]["cursor"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(
        cursors.windows(2).all(|pair| pair[0] < pair[1]),
        "{cursors:?}"
    );
    service.start_kill().expect("SIGKILL");
    let _ = service.wait().await;
    stack.stop().await;
}
