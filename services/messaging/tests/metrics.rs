//! The service metrics endpoint: RPC counts by method and status, database
//! pool gauges, outbox backlog and realtime's event counters, scraped over
//! HTTP after real traffic through the gateway.

use clickclack_testkit::{Api, TestStack};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// The value of the sample whose line starts with `prefix`.
fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_rpcs_pools_backlog_and_events() {
    let mut stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let (_, token) = stack
        .service_bot(&boot.workspace.id, "counter", "bot:write")
        .await;
    let sampled = clickclack_common::db::connect(
        &stack.db.url,
        clickclack_messaging::SCHEMA,
        clickclack_messaging::MIGRATIONS,
        2,
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = Api::new(
        format!("http://{}", listener.local_addr().unwrap()),
        stack.http.clone(),
    );
    let shutdown = CancellationToken::new();
    tokio::spawn(clickclack_common::metrics::serve_on(
        listener,
        vec![
            clickclack_common::metrics::pool_sampler("messaging", sampled.clone()),
            clickclack_common::outbox::backlog_sampler("messaging", sampled.clone()),
        ],
        shutdown.clone(),
    ));

    let scrape = || async {
        String::from_utf8(
            metrics
                .download("/metrics", None)
                .await
                .expect(200, "a scrape"),
        )
        .expect("metrics are text")
    };
    let before = scrape().await;
    let post_ok = "clickclack_grpc_requests_total{code=\"0\",rpc=\"/clickclack.messaging.v1.MessagingService/PostMessage\"}";
    let posted_before = before
        .lines()
        .find(|line| line.starts_with(post_ok))
        .map_or(0.0, |_| sample(&before, post_ok));
    let delivered = "clickclack_realtime_events_delivered_total";
    let delivered_before = sample(&before, delivered);

    let api = stack.api();
    let messages = format!("/api/channels/{}/messages", boot.general.id);
    for i in 0..3 {
        api.post(&messages, Some(&token), json!({ "body": format!("m{i}") }))
            .await
            .expect(201, "post");
    }
    // An RPC that fails is counted under its status code (5 = NOT_FOUND).
    let missing = api
        .get("/api/messages/msg_doesnotexist", Some(&token))
        .await;
    assert_eq!(missing.status, 404);

    // Posts answer before the relay delivers their events; wait for it so
    // the backlog and append counters below are settled.
    stack.events_settled().await;
    let after = scrape().await;
    assert_eq!(sample(&after, post_ok) - posted_before, 3.0, "{after}");
    assert!(
        sample(
            &after,
            "clickclack_grpc_requests_total{code=\"5\",rpc=\"/clickclack.messaging.v1.MessagingService/GetMessage\"}"
        ) >= 1.0
    );
    assert!(
        sample(
            &after,
            "clickclack_grpc_request_duration_seconds_count{rpc=\"/clickclack.messaging.v1.MessagingService/PostMessage\"}"
        ) >= 3.0
    );
    // The pool gauges follow the sampled pool: one connection taken out
    // shows as one fewer idle.
    let held = sampled.get().unwrap();
    let busy = scrape().await;
    let connections = "clickclack_db_pool_connections{service=\"messaging\"}";
    let idle = "clickclack_db_pool_idle_connections{service=\"messaging\"}";
    assert!(sample(&busy, connections) >= 1.0, "{busy}");
    assert_eq!(
        sample(&busy, idle),
        sample(&busy, connections) - 1.0,
        "{busy}"
    );
    drop(held);
    let rested = scrape().await;
    assert_eq!(
        sample(&rested, idle),
        sample(&rested, connections),
        "{rested}"
    );

    // Every post's event has been delivered to realtime, and realtime has
    // streamed them on to the gateway's live feed.
    assert_eq!(
        sample(&after, "clickclack_outbox_backlog{service=\"messaging\"}"),
        0.0
    );
    assert!(sample(&after, "clickclack_realtime_events_appended_total") >= 3.0);
    assert!(
        sample(&after, delivered) - delivered_before >= 3.0,
        "{after}"
    );

    // While realtime is down the backlog counts what waits; it drains after.
    stack.stop_realtime().await;
    api.post(
        &messages,
        Some(&token),
        json!({ "body": "during the outage" }),
    )
    .await
    .expect(201, "post while realtime is down");
    let during = scrape().await;
    assert!(
        sample(&during, "clickclack_outbox_backlog{service=\"messaging\"}") >= 1.0,
        "{during}"
    );
    stack.start_realtime().await;
    stack.events_settled().await;
    let healed = scrape().await;
    assert_eq!(
        sample(&healed, "clickclack_outbox_backlog{service=\"messaging\"}"),
        0.0
    );
    shutdown.cancel();
    stack.stop().await;
}
