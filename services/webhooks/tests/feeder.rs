//! The feeder against a running stack (real realtime, identity and
//! gateway over real connections, one Postgres): it queues, in log order,
//! exactly the durable events a subscription asked for and its bot could
//! read over a socket; it goes on after a restart from where it stopped,
//! skipping nothing; and it queues nothing more once the bot's token ends.

use chrono::Utc;
use clickclack_common::db;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use clickclack_proto::realtime::realtime_service_client::RealtimeServiceClient;
use clickclack_testkit::TestStack;
use clickclack_webhooks::feeder::Feeder;
use clickclack_webhooks::standing::Standings;
use clickclack_webhooks::store::schema::deliveries;
use clickclack_webhooks::store::{feed, subscriptions};
use clickclack_webhooks::{MIGRATIONS, SCHEMA};
use diesel::prelude::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

mod support;

struct Running {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

async fn start_feeder(stack: &TestStack, pool: &db::PgPool) -> Running {
    let identity = IdentityServiceClient::new(stack.service_peer(&stack.identity_url).await);
    let realtime = RealtimeServiceClient::new(stack.service_peer(&stack.realtime_url).await);
    let feeder = Feeder::new(pool.clone(), realtime, Standings::new(identity));
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let stop = stop.clone();
        async move { feeder.run(stop).await }
    });
    Running { stop, task }
}

impl Running {
    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap();
    }
}

/// Waits until the feeder has read the log up to `cursor`.
async fn fed_up_to(pool: &db::PgPool, cursor: &str) {
    let wanted = clickclack_common::cursor::decode(cursor).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stored = feed::cursor(&mut pool.get().unwrap()).unwrap();
        if stored.and_then(|at| clickclack_common::cursor::decode(&at)) >= Some(wanted) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the feeder never reached {cursor}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The bodies queued for `subscription`, in log order.
fn queued(pool: &db::PgPool, subscription: &str) -> Vec<(i64, Value)> {
    deliveries::table
        .filter(deliveries::subscription_id.eq(subscription))
        .order(deliveries::position)
        .select((deliveries::position, deliveries::body))
        .load::<(i64, String)>(&mut pool.get().unwrap())
        .unwrap()
        .into_iter()
        .map(|(position, body)| (position, serde_json::from_str(&body).unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feeder_queues_what_the_bot_may_read_in_log_order_and_resumes_where_it_stopped() {
    let mut stack = TestStack::start().await;
    // This test runs its own feeder and worker: the stack's stay off.
    stack.stop_webhooks().await;
    let boot = stack.bootstrap("feed").await;
    let workspace = boot.workspace.id.clone();
    let general = boot.general.id.clone();
    let (hook_bot, _) = stack.service_bot(&workspace, "hook", "bot:read").await;
    let (_, poster) = stack.service_bot(&workspace, "poster", "bot:write").await;
    let ana = stack.add_human(&workspace, "ana").await;
    let pool = db::connect(&stack.db.url, SCHEMA, MIGRATIONS, 4).expect("migrate");
    let api = stack.api();
    let post = |body: String| {
        let api = api.clone();
        let path = format!("/api/channels/{general}/messages");
        let poster = poster.clone();
        async move {
            api.post(&path, Some(&poster), json!({ "body": body }))
                .await
                .expect_success("post")
        }
    };

    let feeder = start_feeder(&stack, &pool).await;
    // The feeder starts at the log's tail; a first event shows it follows.
    let warmup = post("warm-up".into()).await;
    fed_up_to(&pool, &stack.cursor_of(&poster, &warmup).await).await;

    let mut row = support::subscription("sub_feed", "https://hooks.example.com/feed", vec![1]);
    row.workspace_id = workspace.clone();
    row.bot_user_id = Some(hook_bot.id.clone());
    row.event_types = vec!["message.created".into()];
    row.created_at = Utc::now();
    subscriptions::insert(&mut pool.get().unwrap(), &row).unwrap();

    // A DM between others is not the bot's to read; a reaction is not a
    // type it asked for.
    let dm = api
        .post(
            "/api/dms",
            Some(&poster),
            json!({ "workspace_id": workspace, "member_ids": [ana.id] }),
        )
        .await
        .expect_success("open a DM");
    let dm_id = dm["conversation"]["id"].as_str().unwrap().to_owned();
    api.post(
        &format!("/api/dms/{dm_id}/messages"),
        Some(&poster),
        json!({ "body": "just between us" }),
    )
    .await
    .expect_success("post in the DM");
    let id_of = |answer: &Value| answer["message"]["id"].as_str().unwrap().to_owned();
    let mut posted = Vec::new();
    let mut last = Value::Null;
    for n in 0..20 {
        last = post(format!("public {n}")).await;
        posted.push(id_of(&last));
    }
    let reacted = api
        .post(
            &format!(
                "/api/messages/{}/reactions",
                last["message"]["id"].as_str().unwrap()
            ),
            Some(&poster),
            json!({ "emoji": "tada" }),
        )
        .await
        .expect_success("react");
    fed_up_to(&pool, &stack.cursor_of(&poster, &reacted).await).await;

    let message_ids = |bodies: &[(i64, Value)]| {
        bodies
            .iter()
            .map(|(_, body)| {
                body["event"]["payload"]["message_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    let bodies = queued(&pool, "sub_feed");
    assert_eq!(
        message_ids(&bodies),
        posted,
        "the channel's messages only, in log order; not the warm-up before the subscription"
    );
    for (position, body) in &bodies {
        assert_eq!(body["subscription_id"], "sub_feed");
        assert_eq!(body["event"]["type"], "message.created");
        let cursor = body["event"]["cursor"].as_str().unwrap();
        assert_eq!(
            clickclack_common::cursor::decode(cursor),
            Some(*position),
            "the event as sockets see it, with its cursor"
        );
    }

    // Stopped, then started again: what was logged meanwhile is queued,
    // nothing twice.
    feeder.stop().await;
    for n in 20..25 {
        last = post(format!("public {n}")).await;
        posted.push(id_of(&last));
    }
    let feeder = start_feeder(&stack, &pool).await;
    fed_up_to(&pool, &stack.cursor_of(&poster, &last).await).await;
    assert_eq!(message_ids(&queued(&pool, "sub_feed")), posted);

    // The bot's only token is revoked: nothing more is queued for it.
    stack.revoke_bot_tokens(&hook_bot.id).await;
    let after = post("after the revocation".into()).await;
    fed_up_to(&pool, &stack.cursor_of(&poster, &after).await).await;
    assert_eq!(queued(&pool, "sub_feed").len(), 25);
    feeder.stop().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_the_log_no_longer_has_is_dropped_for_the_tail_not_retried_forever() {
    let mut stack = TestStack::start().await;
    // This test runs its own feeder and worker: the stack's stay off.
    stack.stop_webhooks().await;
    let boot = stack.bootstrap("lost").await;
    let workspace = boot.workspace.id.clone();
    let (hook_bot, _) = stack.service_bot(&workspace, "hook", "bot:read").await;
    let (_, poster) = stack.service_bot(&workspace, "poster", "bot:write").await;
    let pool = db::connect(&stack.db.url, SCHEMA, MIGRATIONS, 4).expect("migrate");
    let mut row = support::subscription("sub_lost", "https://hooks.example.com/lost", vec![1]);
    row.workspace_id = workspace.clone();
    row.bot_user_id = Some(hook_bot.id.clone());
    row.created_at = Utc::now();
    subscriptions::insert(&mut pool.get().unwrap(), &row).unwrap();
    // A place far past the log's tail, as after restoring an older backup
    // of realtime's database.
    let beyond = clickclack_common::cursor::encode(1_000_000_000);
    feed::advance(&mut pool.get().unwrap(), &beyond, 1_000_000_000).unwrap();

    let feeder = start_feeder(&stack, &pool).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while feed::cursor(&mut pool.get().unwrap()).unwrap().as_deref() == Some(beyond.as_str()) {
        assert!(Instant::now() < deadline, "the unknown place was kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Following from the tail now: new posts are queued. (Those logged
    // before the new stream fixed its start are not: they lay between.)
    let mut queued_any = false;
    for n in 0..50 {
        stack
            .api()
            .post(
                &format!("/api/channels/{}/messages", boot.general.id),
                Some(&poster),
                json!({ "body": format!("after {n}") }),
            )
            .await
            .expect_success("post");
        tokio::time::sleep(Duration::from_millis(200)).await;
        if !queued(&pool, "sub_lost").is_empty() {
            queued_any = true;
            break;
        }
    }
    assert!(queued_any, "the feeder follows the tail again");
    feeder.stop().await;
    stack.stop().await;
}
