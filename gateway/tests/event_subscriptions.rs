//! Event subscriptions through the REST API, as upstream's TypeScript SDK
//! calls them (`eventSubscriptions.list/create/revoke/deliveries`, and
//! `rotate-secret`), with deliveries to a real receiver checked by the
//! Rust SDK's `verify_webhook`.

use clickclack_proto::identity as pb;
use clickclack_sdk::webhook::{DEFAULT_TOLERANCE, WebhookError, verify_webhook};
use clickclack_testkit::webhooks::{Answer, Delivery, Receiver};
use clickclack_testkit::{TestStack, WebhookSettings};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);
const QUIET: Duration = Duration::from_millis(1500);

fn verified(delivery: &Delivery, secrets: &[&str]) -> Result<Value, WebhookError> {
    verify_webhook(
        secrets,
        &delivery.header_pairs(),
        &delivery.body,
        DEFAULT_TOLERANCE,
    )
    .map(|verified| verified.event)
}

/// Subscribes `token`'s view (or `bot`'s) of `ws` to `url`; answers the
/// subscription's id and its secret.
async fn subscribe(
    stack: &TestStack,
    ws: &str,
    token: &str,
    event_types: &[&str],
    url: &str,
) -> (String, String) {
    let created = stack
        .api()
        .post(
            &format!("/api/workspaces/{ws}/event-subscriptions"),
            Some(token),
            json!({ "event_types": event_types, "callback_url": url }),
        )
        .await
        .expect(201, "subscribe");
    let field = |name: &str| {
        created["event_subscription"][name]
            .as_str()
            .unwrap()
            .to_owned()
    };
    (field("id"), field("signing_secret"))
}

async fn post(stack: &TestStack, token: &str, channel: &str, body: &str) -> Value {
    stack
        .api()
        .post(
            &format!("/api/channels/{channel}/messages"),
            Some(token),
            json!({ "body": body }),
        )
        .await
        .expect(201, "post")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_sdk_calls_work_and_every_delivery_is_signed() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("hooks").await;
    let ws = boot.workspace.id.clone();
    let general = boot.general.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let api = stack.api();
    let mut receiver = Receiver::start().await;

    // create(workspaceId, {event_types, callback_url}): no bot named.
    let created = api
        .post(
            &format!("/api/workspaces/{ws}/event-subscriptions"),
            Some(&owner),
            json!({ "event_types": ["message.created"], "callback_url": receiver.url }),
        )
        .await
        .expect(201, "create");
    let subscription = &created["event_subscription"];
    let id = subscription["id"].as_str().unwrap().to_owned();
    let secret = subscription["signing_secret"].as_str().unwrap().to_owned();
    assert!(id.starts_with("sub_"), "{subscription}");
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{subscription}"
    );
    assert_eq!(subscription["workspace_id"], ws);
    assert_eq!(subscription["event_types"], json!(["message.created"]));
    assert_eq!(subscription["callback_url"], receiver.url);
    assert_eq!(subscription["created_by"], boot.owner.id);
    assert!(subscription["created_at"].is_string());
    assert!(subscription.get("revoked_at").is_none());

    // list(workspaceId): the secret is never shown again.
    let listed = api
        .get(
            &format!("/api/workspaces/{ws}/event-subscriptions"),
            Some(&owner),
        )
        .await
        .expect(200, "list");
    assert_eq!(listed["event_subscriptions"][0]["id"], id.as_str());
    assert!(
        listed["event_subscriptions"][0]
            .get("signing_secret")
            .is_none()
    );
    assert!(!listed.to_string().contains(&secret), "the secret leaked");

    // A message: one signed delivery, the socket's envelope with a cursor.
    let posted = post(&stack, &owner, &general, "hello hooks").await;
    let delivery = receiver.next(WAIT).await.expect("a delivery");
    let event = verified(&delivery, &[&secret]).expect("signed with the secret");
    assert_eq!(event["type"], "message.created");
    assert_eq!(event["payload"]["message_id"], posted["message"]["id"]);
    assert!(event["cursor"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(delivery.header("webhook-id"), event["id"].as_str());
    assert_eq!(delivery.header("content-type"), Some("application/json"));
    assert_eq!(
        verified(&delivery, &["whsec_b3RoZXIgc2VjcmV0IG9mIDI0IGJ5dGVzIQ=="]).unwrap_err(),
        WebhookError::NoMatch
    );

    // deliveries(subscriptionId): what the SDK reads, and upstream's page.
    let log = loop {
        let log = api
            .get(
                &format!("/api/event-subscriptions/{id}/deliveries"),
                Some(&owner),
            )
            .await
            .expect(200, "deliveries");
        if log["event_delivery_attempts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let attempt = &log["event_delivery_attempts"][0];
    assert_eq!(attempt["subscription_id"], id.as_str());
    assert_eq!(attempt["event_id"], event["id"]);
    assert_eq!(attempt["workspace_id"], ws);
    assert_eq!(attempt["event_type"], "message.created");
    assert_eq!(attempt["attempt"], 1);
    assert_eq!(attempt["response_status"], 200);
    assert_eq!(attempt["response_body"], "ok");
    let sent: Value = serde_json::from_str(attempt["request_json"].as_str().unwrap()).unwrap();
    assert_eq!(sent["event"], event, "the log keeps the body that was sent");
    assert!(attempt["created_at"].is_string() && attempt["completed_at"].is_string());
    assert_eq!(log["deliveries"], log["event_delivery_attempts"]);
    // Counted in the process's metrics (the stack runs in this process).
    let metrics = clickclack_common::metrics::render(&[]);
    assert!(
        metrics.contains("clickclack_webhook_attempts_total{outcome=\"delivered\"}")
            && metrics.contains("clickclack_webhook_attempt_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(log.get("next_cursor").is_none(), "no further page");

    // Rotation: during the overlap both secrets verify.
    let rotated = api
        .post(
            &format!("/api/event-subscriptions/{id}/rotate-secret"),
            Some(&owner),
            json!({}),
        )
        .await
        .expect(200, "rotate");
    let new_secret = rotated["event_subscription"]["signing_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated["event_subscription"]["previous_secret_until"].is_string());
    post(&stack, &owner, &general, "after rotation").await;
    let delivery = receiver
        .next(WAIT)
        .await
        .expect("a delivery after rotation");
    let signatures = delivery.header("webhook-signature").unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    verified(&delivery, &[&new_secret]).expect("the new secret verifies");
    verified(&delivery, &[&secret]).expect("the old one still does, for the overlap");

    // Send test event: a webhook.test for this subscription alone.
    api.post(
        &format!("/api/event-subscriptions/{id}/test"),
        Some(&owner),
        json!({}),
    )
    .await
    .expect(202, "test event");
    let test = receiver.next(WAIT).await.expect("the test event");
    assert_eq!(
        verified(&test, &[&new_secret]).unwrap()["type"],
        "webhook.test"
    );

    // Redeliver the first event: the same webhook-id again.
    let first_id = event["id"].as_str().unwrap();
    let again = api
        .post(
            &format!("/api/event-subscriptions/{id}/redeliver"),
            Some(&owner),
            json!({ "event_id": first_id }),
        )
        .await
        .expect(202, "redeliver");
    assert_eq!(again["queued"], 1);
    let redelivered = receiver.next(WAIT).await.expect("the redelivery");
    assert_eq!(redelivered.header("webhook-id"), Some(first_id));
    api.post(
        &format!("/api/event-subscriptions/{id}/redeliver"),
        Some(&owner),
        json!({}),
    )
    .await
    .expect_error(400, "redeliver needs an event or a cursor");

    // revoke(subscriptionId): nothing more is sent.
    let revoked = api
        .post(
            &format!("/api/event-subscriptions/{id}/revoke"),
            Some(&owner),
            json!({}),
        )
        .await
        .expect(200, "revoke");
    assert!(revoked["event_subscription"]["revoked_at"].is_string());
    assert_eq!(revoked["event_subscription"]["status"], "revoked");
    post(&stack, &owner, &general, "after revocation").await;
    receiver.assert_quiet(QUIET).await;
    let listed = api
        .get(
            &format!("/api/workspaces/{ws}/event-subscriptions"),
            Some(&owner),
        )
        .await
        .expect(200, "list after revoke");
    assert_eq!(listed["event_subscriptions"], json!([]));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_strangers_get_clear_errors() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("strict").await;
    let other = stack.bootstrap("other").await;
    let ws = boot.workspace.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (_, member) = stack.member_session(&ws, "mel", "member").await;
    let (_, stranger) = stack.sign_in(other.owner.email.as_deref().unwrap()).await;
    let api = stack.api();
    let path = format!("/api/workspaces/{ws}/event-subscriptions");
    let receiver = Receiver::start().await;
    for (body, why) in [
        (
            json!({ "event_types": [], "callback_url": receiver.url }),
            "event_types is required",
        ),
        (
            json!({ "event_types": ["typing.started"], "callback_url": receiver.url }),
            "not a durable event type",
        ),
        (
            json!({ "event_types": ["message.created"], "callback_url": "ftp://x" }),
            "callback_url",
        ),
        (
            json!({ "event_types": ["message.created"], "callback_url": "" }),
            "callback_url is required",
        ),
        (
            json!({ "event_types": ["message.created"], "callback_url": receiver.url, "app_installation_id": "app_1" }),
            "app installations",
        ),
        (
            json!({ "event_types": ["message.created"], "callback_url": receiver.url, "bot_user_id": boot.owner.id }),
            "not a bot of this workspace",
        ),
    ] {
        let error = api
            .post(&path, Some(&owner), body.clone())
            .await
            .expect_error(400, &body.to_string());
        assert!(error.contains(why), "{body}: {error}");
    }
    // A body of the wrong shape: 422 (API.md §0: 400/422 invalid input).
    api.post(
        &path,
        Some(&owner),
        json!({ "event_types": "message.created", "callback_url": receiver.url }),
    )
    .await
    .expect_error(422, "event_types must be a list");
    // Private and metadata addresses are refused where the operator has
    // not allowed them (tests allow loopback; metadata never).
    let error = api
        .post(
            &path,
            Some(&owner),
            json!({ "event_types": ["*"], "callback_url": "https://169.254.169.254/latest" }),
        )
        .await
        .expect_error(400, "metadata address");
    assert!(error.contains("private, loopback or metadata"), "{error}");

    let (id, _) = subscribe(&stack, &ws, &owner, &["*"], &receiver.url).await;
    // A member sees only their own; another workspace's owner nothing.
    let listed = api
        .get(&path, Some(&member))
        .await
        .expect(200, "member lists");
    assert_eq!(listed["event_subscriptions"], json!([]));
    api.post(
        &format!("/api/event-subscriptions/{id}/revoke"),
        Some(&member),
        json!({}),
    )
    .await
    .expect_error(403, "a member cannot revoke the owner's");
    api.get(&format!("/api/event-subscriptions/{id}"), Some(&stranger))
        .await
        .expect_error(404, "another workspace's owner learns nothing");
    api.get(&path, Some(&stranger))
        .await
        .expect_error(403, "not their workspace");
    api.get("/api/event-subscriptions/sub_nope", Some(&owner))
        .await
        .expect_error(404, "unknown id");
    api.get(
        &format!("/api/event-subscriptions/{id}/deliveries?limit=abc"),
        Some(&owner),
    )
    .await
    .expect_error(400, "a limit that is not a number");

    // Bots: only with event_subscriptions:write, and only their own.
    let (plain_bot, plain_token) = stack.service_bot(&ws, "plain", "bot:admin").await;
    api.get(&path, Some(&plain_token))
        .await
        .expect_error(403, "bot:admin is not enough");
    let (hook_bot, hook_token) = stack
        .service_bot(&ws, "pusher", "bot:read,event_subscriptions:write")
        .await;
    let own = api
        .post(
            &path,
            Some(&hook_token),
            json!({ "event_types": ["message.created"], "callback_url": receiver.url }),
        )
        .await
        .expect(201, "a bot subscribes for itself");
    assert_eq!(own["event_subscription"]["bot_user_id"], hook_bot.id);
    let error = api
        .post(&path, Some(&hook_token), json!({ "event_types": ["*"], "callback_url": receiver.url, "bot_user_id": plain_bot.id }))
        .await
        .expect_error(403, "not for another bot");
    assert!(error.contains("only for itself"), "{error}");
    let listed = api
        .get(&path, Some(&hook_token))
        .await
        .expect(200, "the bot lists");
    assert_eq!(listed["event_subscriptions"].as_array().unwrap().len(), 1);
    api.post(
        &format!("/api/event-subscriptions/{id}/revoke"),
        Some(&hook_token),
        json!({}),
    )
    .await
    .expect_error(404, "a bot cannot see the owner's");

    // The quota: 25 live subscriptions per workspace.
    for _ in 2..25 {
        subscribe(&stack, &ws, &owner, &["*"], &receiver.url).await;
    }
    let error = api
        .post(
            &path,
            Some(&owner),
            json!({ "event_types": ["*"], "callback_url": receiver.url }),
        )
        .await
        .expect_error(409, "over the quota");
    assert!(error.contains("at most 25"), "{error}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bots_deliveries_follow_its_token_and_stop_when_its_owner_leaves() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("owned").await;
    let ws = boot.workspace.id.clone();
    let general = boot.general.id.clone();
    let (ana, ana_token) = stack.member_session(&ws, "ana", "member").await;
    let (_, bo_token) = stack.member_session(&ws, "bo", "member").await;
    let (helper, _) = stack
        .owned_bot(&ws, "helper", "Ana's helper", &ana.id, "bot:read")
        .await;
    let api = stack.api();
    let mut receiver = Receiver::start().await;
    let path = format!("/api/workspaces/{ws}/event-subscriptions");
    api.post(
        &path,
        Some(&bo_token),
        json!({ "event_types": ["*"], "callback_url": receiver.url, "bot_user_id": helper.id }),
    )
    .await
    .expect_error(403, "someone else's bot");
    let created = api
        .post(&path, Some(&ana_token), json!({ "event_types": ["message.created"], "callback_url": receiver.url, "bot_user_id": helper.id }))
        .await
        .expect(201, "the owner subscribes her bot");
    let secret = created["event_subscription"]["signing_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created["event_subscription"]["bot_user_id"], helper.id);

    // A DM between two people is not the bot's to read; #general is.
    let dm = api
        .post(
            "/api/dms",
            Some(&ana_token),
            json!({ "workspace_id": ws, "member_ids": [boot.owner.id] }),
        )
        .await
        .expect(201, "open a DM");
    let dm_id = dm["conversation"]["id"].as_str().unwrap();
    api.post(
        &format!("/api/dms/{dm_id}/messages"),
        Some(&ana_token),
        json!({ "body": "private" }),
    )
    .await
    .expect(201, "post in the DM");
    let public = post(&stack, &ana_token, &general, "public").await;
    let delivery = receiver.next(WAIT).await.expect("the public message");
    let event = verified(&delivery, &[&secret]).unwrap();
    assert_eq!(
        event["payload"]["message_id"], public["message"]["id"],
        "the DM was not delivered first"
    );
    receiver.assert_quiet(QUIET).await;

    // Ana leaves: her bot's token stops working, and so do its deliveries.
    stack
        .identity()
        .await
        .remove_member(pb::RemoveMemberRequest {
            workspace: ws.clone(),
            user_id: ana.id.clone(),
        })
        .await
        .unwrap();
    post(&stack, &bo_token, &general, "after she left").await;
    receiver.assert_quiet(QUIET).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_back_off_on_the_schedule_and_gone_disables_the_subscription() {
    // 5 s, 5 min, 30 min, 2 h ... shrunk 5000 times: 1 ms, 60 ms, 360 ms, 1.44 s.
    let stack = TestStack::start_with_webhooks(WebhookSettings {
        retry_scale: 0.0002,
        ..WebhookSettings::default()
    })
    .await;
    let boot = stack.bootstrap("retry").await;
    let ws = boot.workspace.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let api = stack.api();
    let mut receiver = Receiver::start().await;
    receiver.answer(Answer::Status(503));
    let (id, _) = subscribe(&stack, &ws, &owner, &["message.created"], &receiver.url).await;
    post(&stack, &owner, &boot.general.id, "retry me").await;
    let failed = receiver.take(4, WAIT).await;
    receiver.answer(Answer::Status(204));
    let fifth = receiver.next(WAIT).await.expect("the fifth attempt");
    let ids: Vec<_> = failed
        .iter()
        .chain([&fifth])
        .map(|d| d.header("webhook-id").unwrap().to_owned())
        .collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] == pair[1]),
        "one event, one id: {ids:?}"
    );
    let gaps: Vec<Duration> = failed
        .iter()
        .chain([&fifth])
        .collect::<Vec<_>>()
        .windows(2)
        .map(|pair| pair[1].received_at - pair[0].received_at)
        .collect();
    // Each wait is the schedule's ±20 %, plus the worker's own latency.
    for (gap, expected_ms) in gaps.iter().zip([1u64, 60, 360, 1440]) {
        let low = Duration::from_millis(expected_ms * 8 / 10);
        assert!(
            *gap >= low,
            "waited {gap:?}, the schedule says about {expected_ms} ms: {gaps:?}"
        );
        assert!(
            *gap < Duration::from_millis(expected_ms * 12 / 10 + 1000),
            "{gaps:?}"
        );
    }
    receiver.assert_quiet(Duration::from_millis(500)).await;
    let log = api
        .get(
            &format!("/api/event-subscriptions/{id}/deliveries"),
            Some(&owner),
        )
        .await
        .expect(200, "the log");
    let statuses: Vec<i64> = log["event_delivery_attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["response_status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, vec![204, 503, 503, 503, 503], "newest first");

    // 410 Gone: disabled at once, and nothing more is sent.
    receiver.answer(Answer::Status(410));
    post(&stack, &owner, &boot.general.id, "gone").await;
    receiver.next(WAIT).await.expect("the attempt answered 410");
    let mut state = Value::Null;
    for _ in 0..100 {
        state = api
            .get(&format!("/api/event-subscriptions/{id}"), Some(&owner))
            .await
            .expect(200, "get")["event_subscription"]
            .clone();
        if state["status"] == "disabled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state["status"], "disabled", "{state}");
    assert!(
        state["disabled_reason"].as_str().unwrap().contains("410"),
        "{state}"
    );
    // Its maker is told, privately: an event and an audit entry.
    let (_, bystander) = stack.member_session(&ws, "bystander", "member").await;
    let events_of = |token: String| {
        let (api, ws) = (api.clone(), ws.clone());
        async move {
            api.get(
                &format!("/api/realtime/events?workspace_id={ws}&limit=500"),
                Some(&token),
            )
            .await
            .expect(200, "events")["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|event| event["type"] == "event_subscription.disabled")
                .cloned()
                .collect::<Vec<_>>()
        }
    };
    let mut told = Vec::new();
    for _ in 0..100 {
        told = events_of(owner.clone()).await;
        if !told.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(told.len(), 1, "one notice: {told:?}");
    assert_eq!(told[0]["payload"]["subscription_id"], id.as_str());
    assert!(
        told[0]["payload"]["reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    assert!(
        events_of(bystander).await.is_empty(),
        "the notice is private"
    );
    let audit = api
        .get(&format!("/api/workspaces/{ws}/audit-log"), Some(&owner))
        .await
        .expect(200, "audit log");
    assert!(
        audit["audit_log_entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["action"] == "event_subscription.disabled"
                && entry["target_id"] == id.as_str()),
        "{audit}"
    );
    receiver.answer(Answer::Status(200));
    post(&stack, &owner, &boot.general.id, "after gone").await;
    receiver.assert_quiet(QUIET).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_events_arrive_in_cursor_order_and_a_hanging_endpoint_delays_no_one_else() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("order").await;
    let ws = boot.workspace.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let mut receiver = Receiver::start().await;
    let hanging = Receiver::start().await;
    hanging.answer(Answer::Hang);
    for url in [&hanging.url, &receiver.url] {
        subscribe(&stack, &ws, &owner, &["message.created"], url).await;
    }
    const EVENTS: usize = 1000;
    let general = boot.general.id.clone();
    let posts = futures_util::future::join_all((0..8).map(|lane| {
        let (stack, owner, general) = (&stack, &owner, &general);
        async move {
            for n in (lane..EVENTS).step_by(8) {
                post(stack, owner, general, &format!("m{n}")).await;
            }
        }
    }));
    let (_, deliveries) = tokio::join!(posts, receiver.take(EVENTS, Duration::from_secs(120)));
    let cursors: Vec<i64> = deliveries
        .iter()
        .map(|d| {
            let cursor = d.json()["event"]["cursor"].as_str().unwrap().to_owned();
            clickclack_common::cursor::decode(&cursor).expect("a cursor")
        })
        .collect();
    assert!(
        cursors.windows(2).all(|pair| pair[0] < pair[1]),
        "deliveries out of cursor order"
    );
    let mut ids: Vec<_> = deliveries
        .iter()
        .map(|d| d.header("webhook-id").unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), EVENTS, "every event once");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_the_queue_and_send_each_event_once() {
    let stack = TestStack::start().await;
    // A second copy of every service, webhooks included, on the same database.
    let replica = stack.start_replica().await;
    let boot = stack.bootstrap("replicas").await;
    let ws = boot.workspace.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let mut receiver = Receiver::start().await;
    subscribe(&stack, &ws, &owner, &["message.created"], &receiver.url).await;
    const EVENTS: usize = 200;
    for n in 0..EVENTS {
        post(&stack, &owner, &boot.general.id, &format!("m{n}")).await;
    }
    let deliveries = receiver.take(EVENTS, Duration::from_secs(60)).await;
    receiver.assert_quiet(QUIET).await;
    let mut ids: Vec<_> = deliveries
        .iter()
        .map(|d| d.header("webhook-id").unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), EVENTS, "no event was sent twice");
    replica.stop().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_webhook_posts_as_its_bot_until_revoked_or_its_bot_is_removed() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("incoming").await;
    let ws = boot.workspace.id.clone();
    let general = boot.general.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (_, member) = stack.member_session(&ws, "mo", "member").await;
    let (bot, _) = stack.service_bot(&ws, "deploys", "bot:read").await;
    let api = stack.api();
    let path = format!("/api/workspaces/{ws}/incoming-webhooks");
    api.post(
        &path,
        Some(&member),
        json!({ "channel_id": general, "bot_user_id": bot.id, "name": "CI" }),
    )
    .await
    .expect_error(403, "a member cannot make a service bot's hook");
    let created = api
        .post(
            &path,
            Some(&owner),
            json!({ "channel_id": general, "bot_user_id": bot.id, "name": "CI" }),
        )
        .await
        .expect(201, "a manager makes one");
    let hook = &created["incoming_webhook"];
    let id = hook["id"].as_str().unwrap().to_owned();
    let url = hook["path"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with("ihk_") && url.starts_with(&format!("/api/hooks/{id}/cch_")),
        "{hook}"
    );
    assert_eq!(hook["created_by"], boot.owner.id.as_str());
    let listed = api.get(&path, Some(&owner)).await.expect(200, "list");
    assert_eq!(listed["incoming_webhooks"][0]["id"], id.as_str());
    assert!(
        !listed.to_string().contains(&url),
        "the secret is shown once"
    );

    // No credential but the URL: posts as the bot.
    let posted = api
        .post(&url, None, json!({ "text": "deploy 42 is live" }))
        .await
        .expect(201, "post through the hook");
    assert_eq!(posted["message"]["author_id"], bot.id);
    assert_eq!(posted["message"]["author"]["kind"], "bot");
    assert_eq!(posted["message"]["channel_id"], general.as_str());
    api.post(&url, None, json!({ "body": "body works too" }))
        .await
        .expect(201, "body instead of text");
    api.post(&url, None, json!({ "text": " " }))
        .await
        .expect_error(400, "empty text");
    let wrong = format!("/api/hooks/{id}/cch_wrong");
    api.post(&wrong, None, json!({ "text": "x" }))
        .await
        .expect_error(404, "a wrong secret");
    let page = api
        .get(&format!("/api/channels/{general}/messages"), Some(&owner))
        .await
        .expect(200, "the channel");
    assert!(page.to_string().contains("deploy 42 is live"));

    // A bot with event_subscriptions:write makes hooks for itself only,
    // and is recorded as their maker.
    let (pusher, pusher_token) = stack
        .service_bot(&ws, "pusher", "bot:read,event_subscriptions:write")
        .await;
    let error = api
        .post(
            &path,
            Some(&pusher_token),
            json!({ "channel_id": general, "bot_user_id": bot.id, "name": "theirs" }),
        )
        .await
        .expect_error(403, "not for another bot");
    assert!(error.contains("only for itself"), "{error}");
    let own = api
        .post(
            &path,
            Some(&pusher_token),
            json!({ "channel_id": general, "name": "mine" }),
        )
        .await
        .expect(201, "a bot makes its own hook");
    assert_eq!(own["incoming_webhook"]["bot_user_id"], pusher.id.as_str());
    assert_eq!(own["incoming_webhook"]["created_by"], pusher.id.as_str());

    // Revoked: the URL is refused from now on.
    let revoked = api
        .post(
            &format!("/api/incoming-webhooks/{id}/revoke"),
            Some(&owner),
            json!({}),
        )
        .await
        .expect(200, "revoke");
    assert!(revoked["incoming_webhook"]["revoked_at"].is_string());
    api.post(&url, None, json!({ "text": "after" }))
        .await
        .expect_error(404, "a revoked hook");

    // A hook stops with its bot: removed from the workspace, 404 at once.
    let (gone, _) = stack.service_bot(&ws, "shortlived", "bot:read").await;
    let created = api
        .post(
            &path,
            Some(&owner),
            json!({ "channel_id": general, "bot_user_id": gone.id, "name": "tmp" }),
        )
        .await
        .expect(201, "a second hook");
    let url = created["incoming_webhook"]["path"]
        .as_str()
        .unwrap()
        .to_owned();
    api.post(&url, None, json!({ "text": "while it lives" }))
        .await
        .expect(201, "posts while the bot is a member");
    stack
        .identity()
        .await
        .remove_bot(pb::RemoveBotRequest {
            workspace: ws.clone(),
            bot_user_id: gone.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    api.post(&url, None, json!({ "text": "after removal" }))
        .await
        .expect_error(404, "the bot was removed");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_webhook_is_rate_limited_like_a_token() {
    let limits = clickclack_gateway::limits::LimitsConfig {
        rate_writes: "3/m".parse().unwrap(),
        rate_reads: "0/s".parse().unwrap(),
        rate_sign_in: "0/s".parse().unwrap(),
        ..Default::default()
    };
    let stack = TestStack::start_with_limits(limits).await;
    let boot = stack.bootstrap("limited").await;
    let ws = boot.workspace.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (bot, _) = stack.service_bot(&ws, "alerts", "bot:read").await;
    let api = stack.api();
    let created = api
        .post(
            &format!("/api/workspaces/{ws}/incoming-webhooks"),
            Some(&owner),
            json!({ "channel_id": boot.general.id, "bot_user_id": bot.id, "name": "alerts" }),
        )
        .await
        .expect(201, "create");
    let url = created["incoming_webhook"]["path"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 0..3 {
        api.post(&url, None, json!({ "text": format!("alert {n}") }))
            .await
            .expect(201, "within the limit");
    }
    let refused = api
        .post(&url, None, json!({ "text": "one too many" }))
        .await;
    assert!(refused.header("retry-after").is_some());
    refused.expect_error(429, "past the limit");

    stack.stop().await;
}
