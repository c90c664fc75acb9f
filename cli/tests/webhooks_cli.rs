//! `clickclack admin bot webhook ...` through the real binary, with the
//! deliveries it sets up arriving at a real receiver.

mod support;

use clickclack_testkit::TestStack;
use clickclack_testkit::webhooks::{Answer, Receiver};
use serde_json::json;
use std::time::Duration;
use support::clickclack;

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_creates_inspects_rotates_redelivers_and_disables_a_bots_webhook() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("ops").await;
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    stack
        .service_bot(&boot.workspace.id, "ci", "bot:read")
        .await;
    let mut receiver = Receiver::start().await;
    let run = |args: Vec<String>| {
        let stack = &stack;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            clickclack(stack, &args).await
        }
    };
    let words = |text: &str| {
        text.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };

    // --plain prints only the secret.
    let created = run(words(&format!(
        "admin bot webhook create --workspace ops --bot @ci --url {} --events message.created --plain",
        receiver.url
    )))
    .await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    let secret = created.stdout.trim().to_owned();
    assert!(
        secret.starts_with("whsec_") && !secret.contains(' '),
        "{secret:?}"
    );

    let listed = run(words("admin bot webhook list --workspace ops --json"))
        .await
        .json();
    let subscription = &listed["event_subscriptions"][0];
    let id = subscription["id"].as_str().unwrap().to_owned();
    assert_eq!(subscription["status"], "active");
    assert!(subscription.get("signing_secret").is_none());
    let text = run(words("admin bot webhook list --workspace ops")).await;
    assert!(
        text.stdout.contains(&id) && text.stdout.contains("message.created"),
        "{}",
        text.stdout
    );

    // A message reaches the receiver, signed with that secret.
    stack
        .api()
        .post(
            &format!("/api/channels/{}/messages", boot.general.id),
            Some(&owner),
            json!({ "body": "to the bot's webhook" }),
        )
        .await
        .expect(201, "post");
    let delivery = receiver.next(WAIT).await.expect("a delivery");
    let event_id = delivery.header("webhook-id").unwrap().to_owned();
    clickclack_sdk::webhook::verify_webhook(
        &[&secret],
        &delivery.header_pairs(),
        &delivery.body,
        clickclack_sdk::webhook::DEFAULT_TOLERANCE,
    )
    .expect("signed with the secret the CLI printed");

    // The log, then a redelivery of that event.
    let mut log = serde_json::Value::Null;
    for _ in 0..100 {
        log = run(words(&format!(
            "admin bot webhook deliveries --id {id} --json"
        )))
        .await
        .json();
        if !log["event_delivery_attempts"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        log["event_delivery_attempts"][0]["event_id"],
        event_id.as_str()
    );
    assert_eq!(log["event_delivery_attempts"][0]["response_status"], 200);
    let redelivered = run(words(&format!(
        "admin bot webhook redeliver --id {id} --event {event_id} --json"
    )))
    .await
    .json();
    assert_eq!(redelivered["queued"], 1);
    let again = receiver.next(WAIT).await.expect("the redelivery");
    assert_eq!(again.header("webhook-id"), Some(event_id.as_str()));

    // Rotation: the new secret signs, so does the old one for the overlap.
    let rotated = run(words(&format!(
        "admin bot webhook rotate-secret --id {id} --overlap 1h --plain"
    )))
    .await;
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    let new_secret = rotated.stdout.trim().to_owned();
    assert_ne!(new_secret, secret);
    run(words(&format!("admin bot webhook test --id {id}"))).await;
    let test = receiver.next(WAIT).await.expect("the test event");
    for key in [&secret, &new_secret] {
        clickclack_sdk::webhook::verify_webhook(
            &[key],
            &test.header_pairs(),
            &test.body,
            clickclack_sdk::webhook::DEFAULT_TOLERANCE,
        )
        .expect("both secrets verify during the overlap");
    }

    // Disable: nothing more is sent; errors are one line.
    receiver.answer(Answer::Status(200));
    let disabled = run(words(&format!(
        "admin bot webhook disable --id {id} --json"
    )))
    .await
    .json();
    assert_eq!(disabled["event_subscription"]["status"], "revoked");
    run(words(&format!("admin bot webhook test --id {id}")))
        .await
        .assert_one_line_error("revoked or disabled");
    run(words("admin bot webhook deliveries --id sub_nope"))
        .await
        .assert_one_line_error("not found");
    run(words(
        "admin bot webhook create --workspace ops --bot @ci --url ftp://x/ --events message.created",
    ))
    .await
    .assert_one_line_error("callback_url");

    // Incoming webhooks: a path that posts into #general as the bot.
    let created = run(words(&format!(
        "admin bot webhook incoming create --workspace ops --bot @ci --channel {} --name CI --plain",
        boot.general.id
    )))
    .await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    let path = created.stdout.trim().to_owned();
    assert!(path.starts_with("/api/hooks/ihk_"), "{path:?}");
    stack
        .api()
        .post(&path, None, json!({ "text": "from the CLI's hook" }))
        .await
        .expect(201, "the printed path posts");
    let listed = run(words(
        "admin bot webhook incoming list --workspace ops --json",
    ))
    .await
    .json();
    let hook_id = listed["incoming_webhooks"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(path.contains(&hook_id));
    run(words(&format!(
        "admin bot webhook incoming revoke --id {hook_id}"
    )))
    .await;
    stack
        .api()
        .post(&path, None, json!({ "text": "after revoke" }))
        .await
        .expect_error(404, "revoked through the CLI");
    stack.stop().await;
}
