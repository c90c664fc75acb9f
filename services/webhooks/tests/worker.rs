//! The worker end to end, on a fresh Postgres database, a real identity
//! service (asked for bots' standing over gRPC) and real receivers on
//! loopback: signed deliveries in log order, one at a time; a failed one
//! scheduled again and logged; 410 disabling the subscription; both secrets
//! signing during a rotation; nothing sent for a bot whose token ended.

use chrono::{TimeDelta, Utc};
use clickclack_common::db;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use clickclack_testkit::TestStack;
use clickclack_webhooks::delivery::Sender;
use clickclack_webhooks::domain::schedule::Verdict;
use clickclack_webhooks::domain::sealing::Sealer;
use clickclack_webhooks::domain::signing::SigningSecret;
use clickclack_webhooks::domain::target::TargetPolicy;
use clickclack_webhooks::standing::{ReaderKey, Standings};
use clickclack_webhooks::store::queue::{self, NewDelivery};
use clickclack_webhooks::store::schema::deliveries;
use clickclack_webhooks::store::subscriptions;
use clickclack_webhooks::worker::Worker;
use clickclack_webhooks::{MIGRATIONS, SCHEMA};
use diesel::prelude::*;
use support::{WAIT, answer, receiver};

mod support;

const INTERNAL_KEY: &str = "a test internal key that is long enough";

/// Loopback receivers are allowed here, as an operator would for tests.
fn loopback() -> TargetPolicy {
    TargetPolicy {
        allow_private_networks: true,
        ..TargetPolicy::default()
    }
}

struct Setup {
    stack: TestStack,
    pool: db::PgPool,
    worker: Worker,
    standings: Standings,
    /// A service bot with a `bot:read` token; the subscriptions are its.
    bot: ReaderKey,
}

async fn setup() -> Setup {
    let mut stack = TestStack::start().await;
    // This test runs its own feeder and worker: the stack's stay off.
    stack.stop_webhooks().await;
    let workspace = stack.bootstrap("hooks").await.workspace.id;
    let (bot, _) = stack.service_bot(&workspace, "ci", "bot:read").await;
    let pool = db::connect(&stack.db.url, SCHEMA, MIGRATIONS, 4).expect("migrate");
    let identity = IdentityServiceClient::new(stack.service_peer(&stack.identity_url).await);
    let standings = Standings::new(identity);
    let worker = Worker::new(
        pool.clone(),
        Sender::new(loopback()),
        Sealer::from_internal_key(INTERNAL_KEY),
        loopback(),
        standings.clone(),
    );
    Setup {
        stack,
        pool,
        worker,
        standings,
        bot: ReaderKey {
            workspace_id: workspace,
            user_id: bot.id,
        },
    }
}

/// A subscription to `url` signed with `secret` (and `previous` during a
/// rotation), with `events` queued at positions 1, 2, ...
fn subscribe(
    setup: &Setup,
    id: &str,
    url: &str,
    secret: &SigningSecret,
    previous: Option<&SigningSecret>,
    events: usize,
) {
    let sealer = Sealer::from_internal_key(INTERNAL_KEY);
    let mut conn = setup.pool.get().unwrap();
    let mut row = support::subscription(id, url, sealer.seal(id, secret.expose()));
    row.workspace_id = setup.bot.workspace_id.clone();
    row.bot_user_id = Some(setup.bot.user_id.clone());
    row.previous_sealed_secret = previous.map(|old| sealer.seal(id, old.expose()));
    row.previous_secret_until = previous.map(|_| Utc::now() + TimeDelta::hours(24));
    subscriptions::insert(&mut conn, &row).unwrap();
    let rows: Vec<NewDelivery> = (1..=events as i64)
        .map(|position| NewDelivery {
            subscription_id: id.into(),
            event_id: format!("evt_{id}_{position}"),
            position,
            body: format!(r#"{{"id":"evt_{id}_{position}","cursor":"cur_{position}"}}"#),
        })
        .collect();
    queue::enqueue(&mut conn, &rows).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_go_out_signed_one_at_a_time_in_log_order() {
    let setup = setup().await;
    let (url, mut received) = receiver(answer("204 No Content", "", "")).await;
    let secret = SigningSecret::generate();
    subscribe(&setup, "sub_ci", &format!("{url}/ci"), &secret, None, 3);
    let mut passes = 0;
    loop {
        let sent = setup.worker.run_once(10).await.unwrap();
        if sent.is_empty() {
            break;
        }
        assert_eq!(sent.len(), 1, "one at a time for one subscription");
        assert_eq!(sent[0].verdict, Verdict::Delivered);
        passes += 1;
    }
    assert_eq!(passes, 3);
    // The receiver verifies each with the secret it was shown.
    let shown = SigningSecret::parse(secret.expose()).unwrap();
    for position in 1..=3 {
        let got = received.next(WAIT).await.expect("a delivery");
        assert_eq!(got.request_line, "POST /ci HTTP/1.1");
        let id = format!("evt_sub_ci_{position}");
        assert_eq!(got.header("webhook-id"), Some(id.as_str()));
        let timestamp: i64 = got.header("webhook-timestamp").unwrap().parse().unwrap();
        assert!((Utc::now().timestamp() - timestamp).abs() < 60);
        assert_eq!(
            got.header("webhook-signature"),
            Some(shown.sign(&id, timestamp, &got.body).as_str())
        );
        assert!(
            String::from_utf8(got.body)
                .unwrap()
                .contains(&format!("cur_{position}"))
        );
    }
    let mut conn = setup.pool.get().unwrap();
    let log = queue::recent_attempts(&mut conn, "sub_ci", 10, None).unwrap();
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|line| line.response_status == 204 && line.id.starts_with("eda_"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_is_scheduled_again_logged_and_holds_back_its_successors() {
    let setup = setup().await;
    let (url, _received) = receiver(answer("503 Service Unavailable", "", "down for a bit")).await;
    subscribe(
        &setup,
        "sub_busy",
        &url,
        &SigningSecret::generate(),
        None,
        2,
    );
    let before = Utc::now();
    let sent = setup.worker.run_once(10).await.unwrap();
    assert!(
        matches!(sent[0].verdict, Verdict::RetryAfter(_)),
        "{sent:?}"
    );
    let mut conn = setup.pool.get().unwrap();
    let (state, attempts, next): (String, i32, chrono::DateTime<Utc>) = deliveries::table
        .filter(deliveries::event_id.eq("evt_sub_busy_1"))
        .select((
            deliveries::state,
            deliveries::attempts,
            deliveries::next_attempt_at,
        ))
        .first(&mut conn)
        .unwrap();
    assert_eq!((state.as_str(), attempts), ("pending", 1));
    let wait = next - before;
    assert!(
        wait >= TimeDelta::milliseconds(3900) && wait <= TimeDelta::milliseconds(6500),
        "the second attempt is due about 5 s later: {wait:?}"
    );
    let log = queue::recent_attempts(&mut conn, "sub_busy", 10, None).unwrap();
    assert_eq!(log[0].response_status, 503);
    assert_eq!(log[0].response_body, "down for a bit");
    let row = subscriptions::find(&mut conn, "sub_busy").unwrap().unwrap();
    assert!(row.failing_since.is_some(), "a failing streak has begun");
    assert!(
        setup.worker.run_once(10).await.unwrap().is_empty(),
        "not due yet, and the next event waits behind it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_the_subscription_at_once() {
    let setup = setup().await;
    let (url, _received) = receiver(answer("410 Gone", "", "")).await;
    subscribe(
        &setup,
        "sub_gone",
        &url,
        &SigningSecret::generate(),
        None,
        3,
    );
    let sent = setup.worker.run_once(10).await.unwrap();
    assert_eq!(sent[0].verdict, Verdict::DisableSubscription);
    assert!(setup.worker.run_once(10).await.unwrap().is_empty());
    let mut conn = setup.pool.get().unwrap();
    let row = subscriptions::find(&mut conn, "sub_gone").unwrap().unwrap();
    assert!(row.disabled_at.is_some());
    assert_eq!(
        row.disabled_reason.as_deref(),
        Some("the endpoint answered 410 Gone")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_rotation_both_secrets_sign_and_a_refused_target_is_not_sent_to() {
    let setup = setup().await;
    let (url, mut received) = receiver(answer("200 OK", "", "ok")).await;
    let (new, old) = (SigningSecret::generate(), SigningSecret::generate());
    subscribe(&setup, "sub_rot", &url, &new, Some(&old), 1);
    setup.worker.run_once(10).await.unwrap();
    let got = received.next(WAIT).await.expect("a delivery");
    let timestamp: i64 = got.header("webhook-timestamp").unwrap().parse().unwrap();
    let signatures: Vec<&str> = got
        .header("webhook-signature")
        .unwrap()
        .split(' ')
        .collect();
    assert_eq!(
        signatures,
        vec![
            new.sign("evt_sub_rot_1", timestamp, &got.body),
            old.sign("evt_sub_rot_1", timestamp, &got.body)
        ]
    );

    // A strict deployment refuses the loopback URL before any connection.
    let strict = Worker::new(
        setup.pool.clone(),
        Sender::new(TargetPolicy::default()),
        Sealer::from_internal_key(INTERNAL_KEY),
        TargetPolicy::default(),
        setup.standings.clone(),
    );
    subscribe(&setup, "sub_local", &url, &new, None, 1);
    let sent = strict.run_once(10).await.unwrap();
    assert_eq!(sent[0].verdict, Verdict::Failed);
    assert!(
        received.try_next().is_none(),
        "nothing reached the receiver"
    );
    let mut conn = setup.pool.get().unwrap();
    let log = queue::recent_attempts(&mut conn, "sub_local", 10, None).unwrap();
    assert_eq!(log[0].response_status, 0);
    assert!(
        log[0].error.as_deref().unwrap().contains("private"),
        "{:?}",
        log[0].error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_for_a_bot_whose_last_token_was_revoked() {
    let setup = setup().await;
    let (url, mut received) = receiver(answer("204 No Content", "", "")).await;
    let secret = SigningSecret::generate();
    subscribe(&setup, "sub_gone", &url, &secret, None, 2);
    setup.stack.revoke_bot_tokens(&setup.bot.user_id).await;

    for _ in 0..2 {
        let sent = setup.worker.run_once(10).await.unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].verdict, Verdict::Failed, "not retried either");
    }
    assert!(setup.worker.run_once(10).await.unwrap().is_empty());
    assert!(
        received.try_next().is_none(),
        "the receiver got nothing of a bot that may no longer read"
    );
    let mut conn = setup.pool.get().unwrap();
    let log = queue::recent_attempts(&mut conn, "sub_gone", 10, None).unwrap();
    assert_eq!(log.len(), 2);
    for line in log {
        assert_eq!(line.response_status, 0);
        assert_eq!(
            line.error.as_deref(),
            Some("not sent: this bot has no working token that reads realtime events")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_asked_side_by_side_each_get_their_own_readers_answers() {
    let setup = setup().await;
    let (revoked_bot, _) = setup
        .stack
        .service_bot(&setup.bot.workspace_id, "gone", "bot:read")
        .await;
    setup.stack.revoke_bot_tokens(&revoked_bot.id).await;
    let gone = ReaderKey {
        workspace_id: setup.bot.workspace_id.clone(),
        user_id: revoked_bot.id,
    };
    // Forty questions at once: they share calls to identity, yet each is
    // answered about exactly the readers it asked of.
    let asks = (0..40).map(|n| {
        let standings = setup.standings.clone();
        let readers = match n % 3 {
            0 => [setup.bot.clone()].into(),
            1 => [gone.clone()].into(),
            _ => [setup.bot.clone(), gone.clone()].into(),
        };
        async move { (n, standings.check(readers).await.expect("identity answers")) }
    });
    for (n, answers) in futures_util::future::join_all(asks).await {
        let expected = match n % 3 {
            0 => 1,
            1 => 1,
            _ => 2,
        };
        assert_eq!(answers.len(), expected, "question {n}: {answers:?}");
        if let Some(good) = answers.get(&setup.bot) {
            assert_eq!(good, &Ok(()), "question {n}");
        }
        if let Some(bad) = answers.get(&gone) {
            assert!(
                bad.is_err(),
                "question {n}: the revoked bot is not in standing"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_goes_out_in_order_back_to_back_and_stops_when_the_token_is_revoked() {
    for round in 0..3 {
        let setup = setup().await;
        let (url, mut received) = receiver(answer("200 OK", "", "")).await;
        let secret = SigningSecret::generate();
        let id = format!("sub_backlog_{round}");
        subscribe(&setup, &id, &url, &secret, None, 400);
        let stop = tokio_util::sync::CancellationToken::new();
        let running = tokio::spawn(setup.worker.clone().run(
            8,
            std::sync::Arc::new(tokio::sync::Notify::new()),
            stop.clone(),
        ));
        // The backlog drains in log order...
        let mut positions = Vec::new();
        while positions.len() < 30 {
            let got = received.next(WAIT).await.expect("deliveries keep coming");
            let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
            let cursor = body["cursor"].as_str().unwrap().to_owned();
            positions.push(cursor["cur_".len()..].parse::<usize>().unwrap());
        }
        assert_eq!(positions, (1..=30).collect::<Vec<_>>(), "round {round}");
        // ...and stops once the bot's token is revoked: at most the attempt
        // already under way (its standing asked before) may still arrive.
        setup.stack.revoke_bot_tokens(&setup.bot.user_id).await;
        let mut late = 0;
        while received.try_next().is_some() {
            late += 1;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let mut after = 0;
        while received.try_next().is_some() {
            after += 1;
        }
        assert!(
            after <= 1,
            "round {round}: {after} deliveries arrived after the revocation (and {late} while it ran)"
        );
        stop.cancel();
        running.await.unwrap();
    }
}
