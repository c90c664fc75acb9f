//! The gateway's authentication, scope and workspace checks, and the error
//! and operations conventions of API.md §0 and §11, over real HTTP.

use clickclack_proto::identity as pb;
use clickclack_testkit::{Api, TestStack};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_or_missing_bearer_tokens_get_401_json() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let (_, token) = stack
        .service_bot(&boot.workspace.id, "bot", "bot:read")
        .await;

    let garbage = [
        None,
        Some("garbage".to_owned()),
        Some("sst_not-a-bot-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_owned()),
        // Well-formed but never issued.
        Some(format!("ccb_{}", "A".repeat(43))),
        // A real token with a character changed.
        Some(format!("{}x", &token[..token.len() - 1])),
    ];
    let api = stack.api();
    for presented in garbage {
        for route in ["/api/me", "/api/workspaces", "/api/workspaces/acme"] {
            let answer = api.get(route, presented.as_deref()).await;
            let (status, body) = (answer.status, answer.body);
            assert_eq!(status, 401, "{route} with {presented:?}");
            assert!(
                body["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{body}"
            );
        }
    }

    let basic = api
        .with_header("Authorization", &format!("Basic {token}"))
        .get("/api/me", None)
        .await;
    assert_eq!(basic.status, 401);
    assert!(!basic.text.contains(&token), "errors never echo the token");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_never_reaches_another_workspace() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let b = stack.bootstrap("beta").await;
    let (_, token_a) = stack.service_bot(&a.workspace.id, "bot", "bot:admin").await;
    let api = stack.api();

    for other in [b.workspace.id.as_str(), "beta"] {
        let answer = api
            .get(&format!("/api/workspaces/{other}"), Some(&token_a))
            .await;
        let (status, body) = (answer.status, answer.body);
        assert_eq!(status, 403, "{body}");
        assert!(body.get("workspace").is_none());
    }
    let status = api
        .get("/api/workspaces/does-not-exist", Some(&token_a))
        .await
        .status;
    assert_eq!(status, 404);
    let list = api.get("/api/workspaces", Some(&token_a)).await.body;
    assert_eq!(list["workspaces"].as_array().unwrap().len(), 1);
    assert_eq!(list["workspaces"][0]["id"], a.workspace.id.as_str());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_require_their_scope() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, workspaces_only) = stack.service_bot(ws, "reader", "workspaces:read").await;
    let (_, profile_only) = stack.service_bot(ws, "profiler", "profile:read").await;
    let api = stack.api();

    let answer = api.get("/api/me", Some(&workspaces_only)).await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.body["error"],
        "this token lacks the profile:read scope"
    );
    assert_eq!(
        api.get("/api/workspaces", Some(&workspaces_only))
            .await
            .status,
        200
    );

    assert_eq!(api.get("/api/me", Some(&profile_only)).await.status, 200);
    let answer = api.get("/api/workspaces", Some(&profile_only)).await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.body["error"],
        "this token lacks the workspaces:read scope"
    );
    assert_eq!(
        api.get(&format!("/api/workspaces/{ws}"), Some(&profile_only))
            .await
            .status,
        403
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_expand_to_exactly_the_documented_scopes() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let read = [
        "workspaces:read",
        "channels:read",
        "messages:read",
        "threads:read",
        "dms:read",
        "realtime:read",
        "profile:read",
    ];
    let write_extra = [
        "messages:write",
        "threads:write",
        "dms:write",
        "uploads:write",
        "commands:write",
    ];
    let expectations: [(&str, Vec<&str>); 3] = [
        ("bot:read", read.to_vec()),
        (
            "bot:write",
            read.iter().chain(&write_extra).copied().collect(),
        ),
        (
            "bot:admin",
            read.iter()
                .chain(&write_extra)
                .chain(&["channels:write"])
                .copied()
                .collect(),
        ),
    ];
    let mut identity = stack.identity().await;
    for (index, (bundle, expected)) in expectations.into_iter().enumerate() {
        let (bot, _) = stack
            .service_bot(&boot.workspace.id, &format!("bundle{index}"), bundle)
            .await;
        let tokens = identity
            .list_bot_tokens(pb::ListBotTokensRequest {
                workspace: boot.workspace.id.clone(),
                bot_user_id: bot.id,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .bot_tokens;
        let mut stored = tokens[0].scopes.clone();
        stored.sort();
        let mut expected: Vec<String> = expected.into_iter().map(str::to_owned).collect();
        expected.sort();
        assert_eq!(stored, expected, "{bundle}");
        assert!(
            !stored
                .iter()
                .any(|s| s == "agent_activity:write" || s == "event_subscriptions:write")
        );
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_tokens_get_401_within_a_second() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let (bot, token) = stack
        .service_bot(&boot.workspace.id, "bot", "bot:read")
        .await;
    assert_eq!(stack.api().get("/api/me", Some(&token)).await.status, 200);

    let mut identity = stack.identity().await;
    let tokens = identity
        .list_bot_tokens(pb::ListBotTokensRequest {
            workspace: String::new(),
            bot_user_id: bot.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .bot_tokens;
    let revoked_at = Instant::now();
    identity
        .revoke_bot_token(pb::RevokeBotTokenRequest {
            token_id: tokens[0].id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    loop {
        let answer = stack.api().get("/api/me", Some(&token)).await;
        let (status, body) = (answer.status, answer.body);
        if status == 401 {
            assert_eq!(body["error"], "token has been revoked");
            break;
        }
        assert_eq!(status, 200);
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "still accepted after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("revocation took effect after {:?}", revoked_at.elapsed());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlation_ids_are_echoed_only_when_well_formed() {
    let stack = TestStack::start().await;
    let api = stack.api();
    let send = |value: Option<&'static str>| {
        let api = match value {
            Some(value) => api.with_header("X-Correlation-ID", value),
            None => api.clone(),
        };
        async move { api.get("/healthz", None).await }
    };
    let echoed = send(Some("req-42.a:b_c")).await;
    assert_eq!(echoed.headers["x-correlation-id"], "req-42.a:b_c");

    for bad in [Some("has space"), Some("semi;colon"), None] {
        let response = send(bad).await;
        let id = response.headers["x-correlation-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!id.is_empty() && Some(id.as_str()) != bad);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    }
    // Errors carry one too.
    let missing = api.get("/api/me", None).await;
    assert!(missing.headers.contains_key("x-correlation-id"));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_answer_json() {
    let stack = TestStack::start().await;
    let api = stack.api();
    let answer = api.get("/api/does-not-exist", None).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body["error"], "no route for GET /api/does-not-exist");

    let answer = api.delete("/api/me", None).await;
    assert_eq!(answer.status, 405);
    assert!(answer.body["error"].as_str().unwrap().contains("DELETE"));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_endpoints_report_health_readiness_and_metrics() {
    let stack = TestStack::start().await;
    let api = stack.api();
    let answer = api.get("/healthz", None).await;
    assert_eq!(
        (answer.status, answer.body),
        (200, serde_json::json!({"status": "ok"}))
    );

    // Identity reports SERVING once its first database probe has run.
    let started = Instant::now();
    loop {
        let answer = api.get("/readyz", None).await;
        let (status, body) = (answer.status, answer.body);
        if status == 200 {
            assert_eq!(body, serde_json::json!({"status": "ready"}));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never ready: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(api.get("/api/me", None).await.status, 401);
    let metrics = String::from_utf8(api.download("/metrics", None).await.expect(200, "metrics"))
        .expect("metrics are text");
    assert!(metrics.contains("clickclack_gateway_http_requests_total{method=\"GET\",route=\"/api/me\",status=\"401\"}"), "{metrics}");
    assert!(metrics.contains("clickclack_gateway_http_request_duration_seconds_bucket"));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_and_api_answers_503_when_identity_is_down() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = clickclack_gateway::GatewayConfig {
        http_addr: listener.local_addr().unwrap(),
        identity_addr: "http://127.0.0.1:1".into(),
        messaging_addr: "http://127.0.0.1:1".into(),
        realtime_addr: "http://127.0.0.1:1".into(),
        ..Default::default()
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { clickclack_gateway::serve(&config, listener, shutdown).await }
    });
    let api = Api::new(url, reqwest::Client::new());

    let ready = api.get("/readyz", None).await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.body, serde_json::json!({"status": "unavailable"}));
    let health = api.get("/healthz", None).await;
    assert_eq!(health.status, 200, "alive even when peers are not");

    let me = api
        .get("/api/me", Some(&format!("ccb_{}", "a".repeat(43))))
        .await;
    assert_eq!(me.status, 503);
    assert!(me.body["error"].as_str().unwrap().contains("unavailable"));

    shutdown.cancel();
    server.await.unwrap().unwrap();
}
