//! Hostile input at the edge: it gets a clear 4xx with `{"error"}`, never a
//! 500 or a 429, never reaches another caller, and never leaves a keep-alive
//! connection unusable. And no answer tells an outsider whether something
//! exists.

use clickclack_testkit::http::Method;
use clickclack_testkit::{Answer, TestStack};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

async fn send(
    stack: &TestStack,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let answer = stack
        .api()
        .call(method, path, Some(token), body.as_ref())
        .await;
    (answer.status, answer.body)
}

fn assert_client_error(what: &str, status: u16, body: &Value) {
    assert!(
        (400..500).contains(&status) && status != 429,
        "{what}: a client error, not {status}"
    );
    assert!(
        body["error"].is_string(),
        "{what}: {{\"error\"}} body, got {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn huge_fields_get_a_client_error_and_never_disturb_other_workspaces() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let b = stack.bootstrap("beta").await;
    let (_, reader) = stack
        .service_bot(&a.workspace.id, "reader", "bot:read")
        .await;
    let (_, writer) = stack
        .service_bot(&a.workspace.id, "writer", "bot:write")
        .await;
    let (_, bystander) = stack
        .service_bot(&b.workspace.id, "bystander", "bot:write")
        .await;

    // Another workspace keeps working while the hostile requests run.
    let bystanding = {
        let api = stack.api();
        let path = format!("/api/channels/{}/messages", b.general.id);
        tokio::spawn(async move {
            let mut failures = Vec::new();
            for n in 0..150 {
                let answer = api
                    .post(
                        &path,
                        Some(&bystander),
                        json!({ "body": format!("ordinary {n}") }),
                    )
                    .await;
                if answer.status != 201 {
                    failures.push(answer.status);
                }
            }
            failures
        })
    };

    let letters = |n: usize| "q".repeat(n);
    let channel_messages = format!("/api/channels/{}/messages", a.general.id);
    for round in 0..5 {
        for size in [17 * 1024, 20 * 1024, 60 * 1024] {
            let (status, body) = send(
                &stack,
                Method::GET,
                &format!("/api/messages/msg_{}", letters(size)),
                &reader,
                None,
            )
            .await;
            assert_client_error(&format!("round {round}: a {size}-byte id"), status, &body);
        }
        for field in ["kind", "quoted_message_id", "nonce", "turn_id"] {
            for size in [20 * 1024, 100 * 1024] {
                let (status, body) = send(
                    &stack,
                    Method::POST,
                    &channel_messages,
                    &writer,
                    Some(json!({ "body": "x", field: letters(size) })),
                )
                .await;
                assert_client_error(&format!("a {size}-byte {field}"), status, &body);
            }
        }
        let (status, body) = send(
            &stack,
            Method::POST,
            "/api/dms",
            &writer,
            Some(json!({ "workspace_id": a.workspace.id, "member_ids": [letters(100 * 1024)] })),
        )
        .await;
        assert_client_error("a 100 KB member id", status, &body);
    }
    let failures = bystanding.await.unwrap();
    assert!(failures.is_empty(), "the other workspace saw {failures:?}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_are_refused_at_the_edge_with_400() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let ws = a.workspace.id.as_str();
    let (_, bot) = stack.service_bot(ws, "bot", "bot:admin").await;
    let general = a.general.id.as_str();
    let posted = send(
        &stack,
        Method::POST,
        &format!("/api/channels/{general}/messages"),
        &bot,
        Some(json!({ "body": "hello" })),
    )
    .await
    .1;
    let message = posted["message"]["id"].as_str().unwrap().to_owned();
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/messages/%00".into(), None),
        (Method::GET, "/api/messages/msg_a%00b".into(), None),
        (
            Method::GET,
            format!("/api/workspaces/{ws}%00/channels"),
            None,
        ),
        (
            Method::GET,
            format!("/api/search?workspace_id={ws}&q=a%00b"),
            None,
        ),
        (
            Method::GET,
            format!("/api/messages/by-nonce?workspace_id={ws}&nonce=%00"),
            None,
        ),
        (
            Method::POST,
            format!("/api/channels/{general}/messages"),
            Some(json!({ "body": "a\u{0}b" })),
        ),
        (
            Method::POST,
            format!("/api/channels/{general}/messages"),
            Some(json!({ "body": "fine", "nonce": "n\u{0}" })),
        ),
        (
            Method::PATCH,
            format!("/api/messages/{message}"),
            Some(json!({ "body": "\u{0}" })),
        ),
        (
            Method::POST,
            format!("/api/workspaces/{ws}/channels"),
            Some(json!({ "name": "bad\u{0}name" })),
        ),
        (
            Method::POST,
            format!("/api/messages/{message}/reactions"),
            Some(json!({ "emoji": "\u{0}" })),
        ),
        (
            Method::POST,
            "/api/dms".into(),
            Some(json!({ "workspace_id": ws, "member_ids": ["usr_\u{0}"] })),
        ),
        (
            Method::POST,
            "/api/realtime/ephemeral".into(),
            Some(
                json!({ "workspace_id": ws, "channel_id": general, "type": "typing.started", "payload": {"x": "\u{0}"} }),
            ),
        ),
    ];
    for (method, path, body) in cases {
        let (status, answer) = send(&stack, method.clone(), &path, &bot, body).await;
        assert_eq!(status, 400, "{method} {path}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    stack.stop().await;
}

/// One HTTP/1.1 response read off a raw connection: (status, head, body).
/// The body is `Content-Length` bytes, or everything until the server
/// closes when there is none.
async fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, String, Vec<u8>) {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let read = tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(read > 0, "the connection closed; head so far: {head:?}");
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head[9..12].parse().expect("a status code");
    let length: Option<usize> = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    });
    let mut body = Vec::new();
    match length {
        Some(length) => {
            body.resize(length, 0);
            reader.read_exact(&mut body).await.expect("the body");
        }
        None => {
            let _ =
                tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut body)).await;
        }
    }
    (status, head, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_error_answers_leave_the_keep_alive_connection_usable() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let (_, bot) = stack.service_bot(&a.workspace.id, "bot", "bot:write").await;
    let addr = stack.http_url.trim_start_matches("http://").to_owned();
    let mut connection = BufReader::new(TcpStream::connect(&addr).await.unwrap());
    let body = format!("{{\"body\": \"{}\"}}", "x".repeat(300 * 1024));
    let early_errors = [
        // No such route: answered before anything reads the body.
        format!(
            "POST /api/nope HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
        // The wrong content type: 415, body never parsed.
        format!(
            "POST /api/channels/{}/messages HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {bot}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            a.general.id,
            body.len()
        ),
        // No credentials: 401 before the body is read.
        format!(
            "POST /api/channels/{}/messages HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            a.general.id,
            body.len()
        ),
    ];
    let mut answers = 0;
    for pair in 0..500 {
        // Sent back to back, as a client that pipelines or reuses the
        // connection at once does.
        let early = &early_errors[pair % early_errors.len()];
        let both = format!("{early}GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        connection
            .get_mut()
            .write_all(both.as_bytes())
            .await
            .unwrap();
        let (status, _, _) = read_response(&mut connection).await;
        assert!((400..500).contains(&status), "pair {pair}: {status}");
        answers += 1;
        let (status, _, _) = read_response(&mut connection).await;
        assert_eq!(status, 200, "pair {pair}: the next request is answered");
        answers += 1;
    }
    assert_eq!(answers, 1000);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_made_up_session_is_401_whether_or_not_the_id_exists() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let (_, bot) = stack.service_bot(&a.workspace.id, "bot", "bot:write").await;
    let posted = send(
        &stack,
        Method::POST,
        &format!("/api/channels/{}/messages", a.general.id),
        &bot,
        Some(json!({ "body": "exists" })),
    )
    .await
    .1;
    let message = posted["message"]["id"].as_str().unwrap();
    let fake = format!("sst_{}", "A".repeat(43));
    for path in [
        format!("/api/messages/{message}"),
        "/api/messages/msg_01doesnotexist".to_owned(),
        format!("/api/channels/{}/messages", a.general.id),
        "/api/channels/chn_01doesnotexist/messages".to_owned(),
        "/api/uploads/upl_01doesnotexist".to_owned(),
        "/api/dms/dm_01doesnotexist".to_owned(),
    ] {
        let (status, body) = send(&stack, Method::GET, &path, &fake, None).await;
        assert_eq!(status, 401, "{path}: {body}");
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_a_token_you_may_not_see_is_404_whatever_its_state() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let ws = a.workspace.id.as_str();
    let (_, owner) = stack.sign_in(a.owner.email.as_deref().unwrap()).await;
    let (_, member) = stack.member_session(ws, "mallory", "member").await;
    let mut ids = Vec::new();
    for name in ["Live", "Dead"] {
        let (status, created) = send(
            &stack,
            Method::POST,
            &format!("/api/workspaces/{ws}/bots"),
            &owner,
            Some(json!({ "display_name": name })),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["bot_token"]["id"].as_str().unwrap().to_owned());
    }
    let (status, _) = send(
        &stack,
        Method::POST,
        &format!("/api/bot-tokens/{}/revoke", ids[1]),
        &owner,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200);
    let missing = "btok_01doesnotexist".to_owned();
    let mut answers = Vec::new();
    for id in [&ids[0], &ids[1], &missing] {
        let (status, body) = send(
            &stack,
            Method::POST,
            &format!("/api/bot-tokens/{id}/rotate"),
            &member,
            Some(json!({})),
        )
        .await;
        answers.push((
            status,
            body["error"].as_str().unwrap().replace(id.as_str(), "ID"),
        ));
    }
    assert!(
        answers.iter().all(|a| *a == answers[2]),
        "active, revoked and missing tokens answer alike: {answers:?}"
    );
    assert_eq!(answers[2].0, 404);
    stack.stop().await;
}

/// Sends raw bytes on a new connection and reads one answer: (status, head, body).
async fn raw_exchange(addr: &str, request: &[u8]) -> (u16, String, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(request).await;
    let (status, head, body) = read_response(&mut BufReader::new(stream)).await;
    (
        status,
        head,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_before_any_handler_are_json_with_a_correlation_id() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let (_, bot) = stack.service_bot(&a.workspace.id, "bot", "bot:write").await;
    let addr = stack.http_url.trim_start_matches("http://").to_owned();
    let many_headers: String = (0..200)
        .map(|n| format!("X-Filler-{n}: {}\r\n", "v".repeat(64)))
        .collect();
    let huge_header = format!("X-Huge: {}\r\n", "h".repeat(600 * 1024));
    let big_body = "x".repeat(2 * 1024 * 1024);
    let channel = &a.general.id;
    let cases: Vec<(u16, Vec<u8>)> = vec![
        (400, b"THIS IS NOT HTTP\r\n\r\n".to_vec()),
        (400, b"GET /healthz HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer a\x00b\r\n\r\n".to_vec()),
        (431, format!("GET /healthz HTTP/1.1\r\nHost: t\r\n{many_headers}\r\n").into_bytes()),
        (431, format!("GET /healthz HTTP/1.1\r\nHost: t\r\n{huge_header}\r\n").into_bytes()),
        (414, format!("GET /api/search?q={} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(70_000)).into_bytes()),
        (
            413,
            format!(
                "POST /api/channels/{channel}/messages HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {bot}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{big_body}",
                big_body.len()
            )
            .into_bytes(),
        ),
        (
            415,
            format!(
                "POST /api/channels/{channel}/messages HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {bot}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
            )
            .into_bytes(),
        ),
        (405, b"PUT /api/me HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n".to_vec()),
    ];
    for (expected, request) in cases {
        let label = String::from_utf8_lossy(&request[..request.len().min(60)]).into_owned();
        let (status, head, body) = raw_exchange(&addr, &request).await;
        assert_eq!(status, expected, "{label}: {head}");
        assert!(
            head.to_ascii_lowercase().contains("x-correlation-id: "),
            "{label}: {head}"
        );
        assert!(body["error"].is_string(), "{label}: {body}");
    }
    stack.stop().await;
}

fn header(answer: &Answer, name: &str) -> Option<u64> {
    answer.header(name)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after_and_every_answer_counts_down() {
    use clickclack_gateway::limits::LimitsConfig;
    let stack = TestStack::start_with_limits(LimitsConfig {
        rate_reads: "5/m".parse().unwrap(),
        rate_writes: "3/m".parse().unwrap(),
        rate_sign_in: "2/m".parse().unwrap(),
        ..LimitsConfig::default()
    })
    .await;
    let a = stack.bootstrap("alpha").await;
    let (_, bot) = stack.service_bot(&a.workspace.id, "bot", "bot:write").await;
    let (_, other) = stack
        .service_bot(&a.workspace.id, "other", "bot:write")
        .await;
    let api = stack.api();
    for n in 0..5u64 {
        let response = api.get("/api/me", Some(&bot)).await;
        assert_eq!(response.status, 200);
        assert_eq!(header(&response, "x-ratelimit-limit"), Some(5));
        assert_eq!(header(&response, "x-ratelimit-remaining"), Some(4 - n));
        assert!(header(&response, "x-ratelimit-reset").is_some());
    }
    let refused = api.get("/api/me", Some(&bot)).await;
    assert_eq!(refused.status, 429);
    assert!(header(&refused, "retry-after").unwrap() >= 1);
    assert_eq!(header(&refused, "x-ratelimit-remaining"), Some(0));
    let body = &refused.body;
    assert!(
        body["error"].as_str().unwrap().contains("rate limit"),
        "{body}"
    );
    // Buckets are per token, and per class.
    let response = api.get("/api/me", Some(&other)).await;
    assert_eq!(response.status, 200);
    let post = api
        .post(
            &format!("/api/channels/{}/messages", a.general.id),
            Some(&bot),
            json!({ "body": "writes have their own bucket" }),
        )
        .await;
    assert_eq!(post.status, 201);
    assert_eq!(header(&post, "x-ratelimit-limit"), Some(3));

    // Sign-in routes count per address, with no token at all.
    let consume = "/api/auth/magic/consume";
    for _ in 0..2 {
        let response = api
            .post(consume, None, json!({ "token": "mgt_made_up" }))
            .await;
        assert_ne!(response.status, 429);
    }
    let response = api
        .post(consume, None, json!({ "token": "mgt_made_up" }))
        .await;
    assert_eq!(response.status, 429);
    assert!(header(&response, "retry-after").is_some());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_capacity_the_api_sheds_with_503_and_health_still_answers() {
    use clickclack_gateway::limits::LimitsConfig;
    let stack = TestStack::start_with_limits(LimitsConfig {
        max_in_flight: 0,
        ..LimitsConfig::default()
    })
    .await;
    let a = stack.bootstrap("alpha").await;
    let (_, bot) = stack.service_bot(&a.workspace.id, "bot", "bot:write").await;
    let api = stack.api();
    let response = api.get("/api/me", Some(&bot)).await;
    assert_eq!(response.status, 503);
    assert!(header(&response, "retry-after").is_some());
    assert!(response.headers.contains_key("x-correlation-id"));
    assert!(response.body["error"].is_string());
    let health = api.get("/healthz", None).await;
    assert_eq!(health.status, 200);
    stack.stop().await;
}

/// Error texts may name what the client sent (a method, a path), but never
/// echo kilobytes of it: every error body stays small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_texts_never_echo_long_input() {
    let stack = TestStack::start().await;
    let addr = stack.http_url.trim_start_matches("http://").to_owned();
    let method = "Q".repeat(10 * 1024);
    let (status, _, body) = raw_exchange(
        &addr,
        format!("{method} /api/me HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status, 405);
    let text = body["error"].as_str().expect("an error text");
    assert!(text.len() <= 256, "{} bytes: {text:.80}...", text.len());
    assert!(text.starts_with("QQQQ"), "it still says what: {text:.40}");
    // A long unknown path, made of short segments the input filter allows.
    let path = "/abc".repeat(2000);
    let (status, _, body) = raw_exchange(
        &addr,
        format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status, 404);
    let text = body["error"].as_str().expect("an error text");
    assert!(text.len() <= 256, "{} bytes: {text:.80}...", text.len());
    stack.stop().await;
}
