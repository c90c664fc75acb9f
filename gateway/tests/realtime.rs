//! Realtime through the gateway (API.md §8), with a real WebSocket client:
//! both auth styles, replay and resume with no gap or duplicate at the seam,
//! visibility, revocation, ephemeral events, pull, and two replicas.

use clickclack_proto::identity as pb;
use clickclack_testkit::ws::next_close_code as close_code;
use clickclack_testkit::{Api, TestStack};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

enum Auth<'a> {
    Header(&'a str),
    Subprotocol(&'a str),
}

async fn connect(
    http_url: &str,
    query: &str,
    auth: Auth<'_>,
) -> Result<(Socket, tungstenite::handshake::client::Response), tungstenite::Error> {
    let url = format!(
        "{}/api/realtime/ws?{query}",
        http_url.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request()?;
    match auth {
        Auth::Header(token) => {
            request
                .headers_mut()
                .insert("Authorization", format!("Bearer {token}").parse().unwrap());
        }
        Auth::Subprotocol(token) => {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                format!("clickclack.bearer.{token}").parse().unwrap(),
            );
        }
    }
    tokio_tungstenite::connect_async(request).await
}

/// The next event frame, or None if none arrives within `wait`.
async fn next_event(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Text(text)))) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Some(Ok(Message::Close(frame)))) => panic!("socket closed: {frame:?}"),
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("socket ended: {other:?}"),
        }
    }
}

/// Reads until `count` events arrived (failing after `wait`).
async fn events(socket: &mut Socket, count: usize, wait: Duration) -> Vec<Value> {
    let mut got = Vec::new();
    let deadline = Instant::now() + wait;
    while got.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match next_event(socket, left).await {
            Some(event) => got.push(event),
            None => panic!("only {} of {count} events arrived: {got:?}", got.len()),
        }
    }
    got
}

async fn post(stack: &TestStack, token: &str, path: &str, body: Value) -> Value {
    let answer = stack.api().post(path, Some(token), body).await;
    assert!(
        (200..300).contains(&answer.status),
        "{path}: {} {}",
        answer.status,
        answer.body
    );
    answer.body
}

async fn say(stack: &TestStack, token: &str, channel: &str, text: &str) -> Value {
    post(
        stack,
        token,
        &format!("/api/channels/{channel}/messages"),
        json!({ "body": text }),
    )
    .await
}

fn message_ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["payload"]["message_id"].as_str().unwrap().to_owned())
        .collect()
}

const WAIT: Duration = Duration::from_secs(5);

/// The socket query that starts at `token`'s current tail: live events only.
async fn from_tail(stack: &TestStack, token: &str, ws: &str) -> String {
    let tail = clickclack_testkit::ws::tail_cursor(&stack.http_url, token, ws).await;
    format!("workspace_id={ws}&after_cursor={tail}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_auth_styles_deliver_events_and_the_subprotocol_is_echoed() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "listener", "bot:write").await;
    let query = from_tail(&stack, &token, ws).await;

    let (mut by_header, _) = connect(&stack.http_url, &query, Auth::Header(&token))
        .await
        .unwrap();
    let (mut by_protocol, response) = connect(&stack.http_url, &query, Auth::Subprotocol(&token))
        .await
        .unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"]
            .to_str()
            .unwrap(),
        format!("clickclack.bearer.{token}"),
        "the 101 echoes exactly the offered subprotocol"
    );

    let posted = say(&stack, &token, &boot.general.id, "hello sockets").await;
    assert_eq!(
        posted["event"]["type"], "message.created",
        "mutations return their event: {posted}"
    );
    let cursor = stack.cursor_of(&token, &posted).await;
    assert!(cursor.starts_with("cur_"), "{cursor}");
    let cursor = cursor.as_str();
    for socket in [&mut by_header, &mut by_protocol] {
        let event = next_event(socket, WAIT).await.expect("an event frame");
        assert_eq!(event["type"], "message.created");
        assert_eq!(event["cursor"], cursor);
        assert_eq!(event["payload"]["message_id"], posted["message"]["id"]);
        assert_eq!(event["channel_id"], boot.general.id.as_str());
        assert!(
            !event.to_string().contains("hello sockets"),
            "no bodies in events"
        );
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_upgrades_are_refused_before_the_handshake() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let b = stack.bootstrap("beta").await;
    let (_, token) = stack.service_bot(&a.workspace.id, "bot", "bot:read").await;
    let (_, no_realtime) = stack
        .service_bot(&a.workspace.id, "blind", "messages:read")
        .await;
    let status = |result: Result<(Socket, _), tungstenite::Error>| match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("the upgrade was accepted"),
    };
    let wa = format!("workspace_id={}", a.workspace.id);
    let bogus = format!("ccb_{}", "x".repeat(43));
    assert_eq!(
        status(connect(&stack.http_url, &wa, Auth::Header(&bogus)).await),
        401
    );
    assert_eq!(
        status(connect(&stack.http_url, &wa, Auth::Subprotocol(&bogus)).await),
        401
    );
    assert_eq!(
        status(connect(&stack.http_url, "", Auth::Header(&token)).await),
        400
    );
    let wb = format!("workspace_id={}", b.workspace.id);
    assert_eq!(
        status(connect(&stack.http_url, &wb, Auth::Header(&token)).await),
        403
    );
    assert_eq!(
        status(connect(&stack.http_url, &wa, Auth::Header(&no_realtime)).await),
        403
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reconnects_with_its_cursor_gets_exactly_what_it_missed() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "bot", "bot:write").await;
    let query = format!("workspace_id={ws}");
    let (mut socket, _) = connect(
        &stack.http_url,
        &from_tail(&stack, &token, ws).await,
        Auth::Header(&token),
    )
    .await
    .unwrap();
    say(&stack, &token, &boot.general.id, "before 1").await;
    say(&stack, &token, &boot.general.id, "before 2").await;
    let seen = events(&mut socket, 2, WAIT).await;
    let last_cursor = seen[1]["cursor"].as_str().unwrap().to_owned();
    drop(socket);

    let mut missed = Vec::new();
    for n in 0..7 {
        missed.push(say(&stack, &token, &boot.general.id, &format!("while away {n}")).await["message"]["id"].clone());
    }
    let (mut socket, _) = connect(
        &stack.http_url,
        &format!("{query}&after_cursor={last_cursor}"),
        Auth::Header(&token),
    )
    .await
    .unwrap();
    let replayed = events(&mut socket, 7, WAIT).await;
    assert_eq!(
        replayed
            .iter()
            .map(|e| e["payload"]["message_id"].clone())
            .collect::<Vec<_>>(),
        missed
    );
    let cursors: Vec<&str> = replayed
        .iter()
        .map(|e| e["cursor"].as_str().unwrap())
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]) && cursors[0] > last_cursor.as_str());
    assert!(
        next_event(&mut socket, Duration::from_millis(300))
            .await
            .is_none(),
        "nothing twice"
    );

    // Then it goes live on the same socket.
    let live = say(&stack, &token, &boot.general.id, "live again").await;
    let event = next_event(&mut socket, WAIT).await.unwrap();
    assert_eq!(event["payload"]["message_id"], live["message"]["id"]);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connecting_while_others_post_loses_and_duplicates_nothing() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let (_, token) = stack.service_bot(&ws, "bot", "bot:write").await;
    let first = say(&stack, &token, &boot.general.id, "start").await;
    let start_cursor = stack.cursor_of(&token, &first).await;

    // Writers post while clients keep connecting from the same cursor.
    const POSTS: usize = 120;
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (api, path, token) = (
                stack.api(),
                format!("/api/channels/{}/messages", boot.general.id),
                token.clone(),
            );
            tokio::spawn(async move {
                for n in 0..POSTS / 3 {
                    let answer = api
                        .post(&path, Some(&token), json!({"body": format!("w{w} n{n}")}))
                        .await;
                    assert_eq!(answer.status, 201);
                }
            })
        })
        .collect();
    let mut clients = Vec::new();
    for _ in 0..6 {
        let query = format!("workspace_id={ws}&after_cursor={start_cursor}");
        clients.push(
            connect(&stack.http_url, &query, Auth::Header(&token))
                .await
                .unwrap()
                .0,
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    for mut client in clients {
        let got = events(&mut client, POSTS, Duration::from_secs(20)).await;
        let ids = message_ids(&got);
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            POSTS,
            "no duplicates"
        );
        let cursors: Vec<&str> = got.iter().map(|e| e["cursor"].as_str().unwrap()).collect();
        assert!(cursors.windows(2).all(|w| w[0] < w[1]), "in cursor order");
        assert!(
            next_event(&mut client, Duration::from_millis(200))
                .await
                .is_none(),
            "nothing extra"
        );
    }
    // The pull API agrees on what the log holds.
    let answer = stack
        .api()
        .get(
            &format!(
                "/api/realtime/events?workspace_id={ws}&after_cursor={start_cursor}&limit=500"
            ),
            Some(&token),
        )
        .await;
    let (status, pulled) = (answer.status, answer.body);
    assert_eq!(status, 200);
    assert_eq!(pulled["events"].as_array().unwrap().len(), POSTS);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_the_token_closes_its_socket_with_1008_within_a_second() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (bot, token) = stack.service_bot(ws, "bot", "bot:read").await;
    let (mut socket, _) = connect(
        &stack.http_url,
        &format!("workspace_id={ws}"),
        Auth::Subprotocol(&token),
    )
    .await
    .unwrap();
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
    let revoked = Instant::now();
    identity
        .revoke_bot_token(pb::RevokeBotTokenRequest {
            token_id: tokens[0].id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(close_code(&mut socket, Duration::from_secs(1)).await, 1008);
    eprintln!("socket closed {:?} after revocation", revoked.elapsed());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_bots_owner_closes_its_socket_with_1008() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let owner = stack.add_human(ws, "peter").await;
    let created = stack
        .identity()
        .await
        .create_bot(pb::CreateBotRequest {
            workspace: ws.into(),
            display_name: "Peter's bot".into(),
            handle: "peters-bot".into(),
            owner_user_id: Some(owner.id.clone()),
            scopes: vec!["bot:read".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let (mut socket, _) = connect(
        &stack.http_url,
        &format!("workspace_id={ws}"),
        Auth::Header(&created.token),
    )
    .await
    .unwrap();
    stack
        .identity()
        .await
        .remove_member(pb::RemoveMemberRequest {
            workspace: ws.into(),
            user_id: owner.id,
        })
        .await
        .unwrap();
    assert_eq!(close_code(&mut socket, Duration::from_secs(1)).await, 1008);
    stack.stop().await;
}

/// `count` public filler events in `workspace`, appended as a producer would.
async fn fill_log(
    stack: &TestStack,
    workspace: &str,
    count: usize,
    audience: &[&str],
) -> Vec<String> {
    let mut cursors = Vec::new();
    let batch: Vec<_> = (0..count)
        .map(|_| clickclack_proto::realtime::Event {
            id: clickclack_common::ids::new_id("evt_"),
            r#type: "message.updated".into(),
            workspace_id: workspace.into(),
            created_at: "2026-12-01T00:00:00.000000Z".into(),
            payload_json: "{}".into(),
            audience: audience.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        })
        .collect();
    for chunk in batch.chunks(500) {
        for event in stack.append_events(chunk.to_vec()).await {
            cursors.push(event.cursor);
        }
    }
    cursors
}

/// A filler event with a given id.
fn event_with_id(workspace: &str, id: &str) -> clickclack_proto::realtime::Event {
    clickclack_proto::realtime::Event {
        id: id.into(),
        r#type: "message.updated".into(),
        workspace_id: workspace.into(),
        created_at: "2026-12-01T00:00:00.000000Z".into(),
        payload_json: "{}".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_are_idempotent_by_id_and_keep_cursors_gapless() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    stack.events_settled().await;
    let ids: Vec<String> = (0..4)
        .map(|_| clickclack_common::ids::new_id("evt_"))
        .collect();
    let first = stack
        .append_events(vec![event_with_id(ws, &ids[0]), event_with_id(ws, &ids[1])])
        .await;
    // A re-sent batch: one known id, a new one twice, another new one.
    let second = stack
        .append_events(vec![
            event_with_id(ws, &ids[1]),
            event_with_id(ws, &ids[2]),
            event_with_id(ws, &ids[2]),
            event_with_id(ws, &ids[3]),
        ])
        .await;
    let position = |cursor: &str| clickclack_common::cursor::decode(cursor).unwrap();
    let a = position(&first[0].cursor);
    assert_eq!(position(&first[1].cursor), a + 1);
    assert_eq!(
        second[0].cursor, first[1].cursor,
        "a known id keeps its cursor"
    );
    assert_eq!(
        position(&second[1].cursor),
        a + 2,
        "no gap after a known id"
    );
    assert_eq!(
        second[2].cursor, second[1].cursor,
        "a repeat in one batch is stored once"
    );
    assert_eq!(position(&second[3].cursor), a + 3);
    let logged = stack.logged_events().await;
    for id in &ids {
        assert_eq!(
            logged.iter().filter(|event| &event.id == id).count(),
            1,
            "{id} stored once"
        );
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_that_cannot_be_replayed_close_with_4001_and_say_why() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "bot", "bot:read").await;
    let start = clickclack_testkit::ws::tail_cursor(&stack.http_url, &token, ws).await;
    fill_log(&stack, ws, 5_001, &[]).await;
    for (cursor, why) in [
        ("nonsense", "unknown cursor"),
        ("cur_00000000999999999999", "past the tail"),
        (start.as_str(), "more than 5000 events"),
    ] {
        let query = format!("workspace_id={ws}&after_cursor={cursor}");
        let (mut socket, _) = connect(&stack.http_url, &query, Auth::Header(&token))
            .await
            .unwrap();
        let (code, reason) = clickclack_testkit::ws::next_close(&mut socket, WAIT).await;
        assert_eq!(code, 4001, "{cursor}");
        assert!(reason.contains(why), "{cursor}: {reason:?} says {why:?}");
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_cursor_a_socket_replays_the_newest_5000_visible_events_then_goes_live() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (bot, token) = stack.service_bot(ws, "bot", "bot:write").await;
    let mut visible = fill_log(&stack, ws, 3_000, &[]).await;
    // Someone else's private events in between must not count.
    fill_log(&stack, ws, 200, &["usr_someone_else"]).await;
    visible.extend(fill_log(&stack, ws, 2_000, &[]).await);
    visible.extend(fill_log(&stack, ws, 100, &[bot.id.as_str()]).await);
    let newest: Vec<String> = visible[visible.len() - 5_000..].to_vec();

    let (mut socket, _) = connect(
        &stack.http_url,
        &format!("workspace_id={ws}"),
        Auth::Header(&token),
    )
    .await
    .unwrap();
    let replayed = events(&mut socket, 5_000, Duration::from_secs(30)).await;
    let cursors: Vec<String> = replayed
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(cursors, newest, "the newest 5,000 visible events, in order");
    let live = say(&stack, &token, &boot.general.id, "and now live").await;
    let event = next_event(&mut socket, WAIT).await.unwrap();
    assert_eq!(event["payload"]["message_id"], live["message"]["id"]);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_close_frame_is_answered_with_a_close_frame() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "bot", "bot:read").await;
    for _ in 0..5 {
        let (mut socket, _) = connect(
            &stack.http_url,
            &from_tail(&stack, &token, ws).await,
            Auth::Header(&token),
        )
        .await
        .unwrap();
        socket
            .close(Some(tungstenite::protocol::CloseFrame {
                code: tungstenite::protocol::frame::coding::CloseCode::Normal,
                reason: "bye".into(),
            }))
            .await
            .unwrap();
        // The server's answer, then the end of the stream: a clean close,
        // never an abnormal one (1006).
        let answer = tokio::time::timeout(WAIT, socket.next()).await.unwrap();
        match answer {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1000),
            Some(Ok(Message::Close(None))) => {}
            other => panic!("expected the server's close frame, got {other:?}"),
        }
        assert!(
            tokio::time::timeout(WAIT, socket.next())
                .await
                .unwrap()
                .is_none()
        );
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_gateway_closes_every_socket_with_1001() {
    let mut stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let (_, token) = stack.service_bot(&ws, "bot", "bot:read").await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let (socket, _) = connect(
            &stack.http_url,
            &from_tail(&stack, &token, &ws).await,
            Auth::Header(&token),
        )
        .await
        .unwrap();
        sockets.push(socket);
    }
    let stopping = tokio::spawn(async move {
        stack.stop_gateway().await;
        stack
    });
    for socket in &mut sockets {
        let (code, reason) = clickclack_testkit::ws::next_close(socket, WAIT).await;
        assert_eq!(code, 1001, "{reason}");
    }
    stopping.await.unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_events_reach_only_their_audience() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let b = stack.bootstrap("beta").await;
    let ws = a.workspace.id.as_str();
    let (_, x) = stack.service_bot(ws, "xbot", "bot:write").await;
    let (_, y) = stack.service_bot(ws, "ybot", "bot:write").await;
    let (_, other) = stack
        .service_bot(&b.workspace.id, "zbot", "bot:write")
        .await;
    let human = stack.add_human(ws, "mia").await;
    let (mut xs, _) = connect(
        &stack.http_url,
        &from_tail(&stack, &x, ws).await,
        Auth::Header(&x),
    )
    .await
    .unwrap();
    let (mut ys, _) = connect(
        &stack.http_url,
        &from_tail(&stack, &y, ws).await,
        Auth::Header(&y),
    )
    .await
    .unwrap();
    let (mut zs, _) = connect(
        &stack.http_url,
        &from_tail(&stack, &other, &b.workspace.id).await,
        Auth::Header(&other),
    )
    .await
    .unwrap();

    let dm = post(
        &stack,
        &x,
        "/api/dms",
        json!({ "workspace_id": ws, "member_ids": [human.id] }),
    )
    .await;
    let dm_id = dm["conversation"]["id"].as_str().unwrap();
    let secret = post(
        &stack,
        &x,
        &format!("/api/dms/{dm_id}/messages"),
        json!({ "body": "psst" }),
    )
    .await;
    post(
        &stack,
        &x,
        &format!("/api/channels/{}/read", a.general.id),
        json!({ "seq": 0 }),
    )
    .await;
    let public = say(&stack, &y, &a.general.id, "hello all").await;

    let x_got = events(&mut xs, 3, WAIT).await;
    let types: Vec<&str> = x_got.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["message.created", "channel.read", "message.created"]
    );
    assert_eq!(x_got[0]["payload"]["message_id"], secret["message"]["id"]);
    assert_eq!(x_got[0]["payload"]["direct_conversation_id"], dm_id);

    // Y sees only the public message: not the DM, not X's read receipt.
    let y_got = next_event(&mut ys, WAIT).await.unwrap();
    assert_eq!(y_got["payload"]["message_id"], public["message"]["id"]);
    assert!(
        next_event(&mut ys, Duration::from_millis(300))
            .await
            .is_none()
    );
    // Another workspace sees nothing.
    assert!(
        next_event(&mut zs, Duration::from_millis(300))
            .await
            .is_none()
    );

    // The pull API applies the same rules.
    let pulled = stack
        .api()
        .get(&format!("/api/realtime/events?workspace_id={ws}"), Some(&y))
        .await
        .body;
    let pulled_types: Vec<&str> = pulled["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(!pulled_types.contains(&"channel.read"), "{pulled}");
    assert!(!pulled.to_string().contains(dm_id), "{pulled}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_events_reach_live_sockets_only() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "bot", "bot:write").await;
    let (mut socket, _) = connect(
        &stack.http_url,
        &from_tail(&stack, &token, ws).await,
        Auth::Header(&token),
    )
    .await
    .unwrap();
    let api = stack.api();
    let send = |body: Value| api.post("/api/realtime/ephemeral", Some(&token), body);

    let accepted = send(
        json!({ "workspace_id": ws, "channel_id": boot.general.id, "type": "typing.started" }),
    )
    .await;
    assert_eq!(accepted.status, 202);
    let body = accepted.body;
    assert!(body["event"]["id"].as_str().unwrap().starts_with("eph_"));
    assert_eq!(body["event"]["cursor"], "");
    let live = next_event(&mut socket, WAIT).await.unwrap();
    assert_eq!(live["type"], "typing.started");
    assert_eq!(live["cursor"], "");
    assert_eq!(live["id"], body["event"]["id"]);

    let progress = send(json!({ "workspace_id": ws, "channel_id": boot.general.id, "type": "agent.progress", "payload": {"step": 1} })).await;
    assert_eq!(progress.status, 202);
    assert_eq!(
        next_event(&mut socket, WAIT).await.unwrap()["payload"]["step"],
        1
    );
    for (bad, status) in [
        (json!({ "workspace_id": ws, "type": "agent.progress" }), 400),
        (
            json!({ "workspace_id": ws, "channel_id": boot.general.id, "type": "message.created" }),
            400,
        ),
        (
            json!({ "workspace_id": ws, "channel_id": "chn_missing", "type": "typing.started" }),
            404,
        ),
        (json!({ "type": "typing.started" }), 400),
    ] {
        let response = send(bad.clone()).await;
        assert_eq!(response.status, status, "{bad}");
    }

    // Never stored: the log has no ephemeral event.
    let pulled = stack
        .api()
        .get(
            &format!("/api/realtime/events?workspace_id={ws}"),
            Some(&token),
        )
        .await
        .body;
    assert!(
        pulled["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["type"].as_str().unwrap().starts_with("typing"))
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulling_events_pages_by_cursor_and_validates_input() {
    let stack = TestStack::start().await;
    let a = stack.bootstrap("alpha").await;
    let b = stack.bootstrap("beta").await;
    let ws = a.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "bot", "bot:write").await;
    let (_, no_scope) = stack.service_bot(ws, "blind", "messages:read").await;
    // Start from the tail as it is after set-up (which logged #general and
    // the members joining).
    let before = stack
        .api()
        .get(
            &format!("/api/realtime/events?workspace_id={ws}&limit=500&include_tail=true"),
            Some(&token),
        )
        .await
        .body;
    let start = before["tail_cursor"].as_str().unwrap().to_owned();
    assert!(start.starts_with("cur_"), "{before}");
    let mut posted = Vec::new();
    for n in 0..5 {
        posted.push(
            say(&stack, &token, &a.general.id, &format!("m{n}")).await["message"]["id"].clone(),
        );
    }
    stack.events_settled().await;
    let answer = stack
        .api()
        .get(
            &format!("/api/realtime/events?workspace_id={ws}&after_cursor={start}&limit=2&include_tail=true"),
            Some(&token),
        )
        .await;
    let (status, first) = (answer.status, answer.body);
    assert_eq!(status, 200);
    let page = first["events"].as_array().unwrap();
    assert_eq!(page.len(), 2);
    let tail = first["tail_cursor"].as_str().unwrap();
    let after = page[1]["cursor"].as_str().unwrap();
    let rest = stack
        .api()
        .get(
            &format!("/api/realtime/events?workspace_id={ws}&after_cursor={after}"),
            Some(&token),
        )
        .await
        .body;
    let rest = rest["events"].as_array().unwrap();
    assert_eq!(rest.len(), 3);
    let all: Vec<Value> = page
        .iter()
        .chain(rest)
        .map(|e| e["payload"]["message_id"].clone())
        .collect();
    assert_eq!(all, posted, "the five posts, in order, across two pages");
    assert_eq!(rest[2]["cursor"], tail);

    for (path, who, want) in [
        ("/api/realtime/events".to_owned(), &token, 400),
        (
            format!("/api/realtime/events?workspace_id={}", b.workspace.id),
            &token,
            403,
        ),
        (
            format!("/api/realtime/events?workspace_id={ws}"),
            &no_scope,
            403,
        ),
        (
            format!("/api/realtime/events?workspace_id={ws}&limit=501"),
            &token,
            400,
        ),
        (
            format!("/api/realtime/events?workspace_id={ws}&after_cursor=bogus"),
            &token,
            400,
        ),
    ] {
        let answer = stack.api().get(&path, Some(who)).await;
        let (status, body) = (answer.status, answer.body);
        assert_eq!(status, want, "{path}: {body}");
        assert!(body["error"].is_string());
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_deliver_every_event_to_every_socket_exactly_once() {
    let stack = TestStack::start().await;
    let replica = stack.start_replica().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "bot", "bot:write").await;
    let query = from_tail(&stack, &token, ws).await;
    let (mut on_first, _) = connect(&stack.http_url, &query, Auth::Header(&token))
        .await
        .unwrap();
    let (mut on_second, _) = connect(&replica.http_url(), &query, Auth::Header(&token))
        .await
        .unwrap();

    // Posts go through both gateways (and so both messaging replicas).
    let mut posted = Vec::new();
    for n in 0..20 {
        let url = if n % 2 == 0 {
            stack.http_url.clone()
        } else {
            replica.http_url()
        };
        let response = Api::new(url, stack.http.clone())
            .post(
                &format!("/api/channels/{}/messages", boot.general.id),
                Some(&token),
                json!({ "body": format!("n{n}") }),
            )
            .await;
        assert_eq!(response.status, 201);
        posted.push(response.body["message"]["id"].as_str().unwrap().to_owned());
    }
    for socket in [&mut on_first, &mut on_second] {
        let got = message_ids(&events(socket, 20, WAIT).await);
        assert_eq!(
            got.iter().collect::<HashSet<_>>(),
            posted.iter().collect::<HashSet<_>>()
        );
        assert!(
            next_event(socket, Duration::from_millis(300))
                .await
                .is_none(),
            "exactly once"
        );
    }
    replica.stop().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realtime_outage_delays_events_but_never_loses_or_repeats_them() {
    let mut stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let (_, token) = stack.service_bot(&ws, "bot", "bot:write").await;
    let before = say(&stack, &token, &boot.general.id, "before the outage").await;
    let before_cursor = stack.cursor_of(&token, &before).await;
    assert!(before_cursor.starts_with("cur_"));

    stack.stop_realtime().await;
    let mut posted = Vec::new();
    for n in 0..20 {
        let answer = say(
            &stack,
            &token,
            &boot.general.id,
            &format!("during the outage {n}"),
        )
        .await;
        assert_eq!(
            answer["event"]["type"], "message.created",
            "posts keep working"
        );
        posted.push(answer["message"]["id"].as_str().unwrap().to_owned());
    }
    stack.start_realtime().await;

    // The relay re-sends what realtime missed; a client resuming from its
    // last cursor then receives each event once, in posting order.
    let deadline = Instant::now() + Duration::from_secs(10);
    let pulled = loop {
        let answer = stack
            .api()
            .get(
                &format!("/api/realtime/events?workspace_id={ws}&after_cursor={before_cursor}"),
                Some(&token),
            )
            .await;
        let (status, pulled) = (answer.status, answer.body);
        if status == 200 && pulled["events"].as_array().unwrap().len() >= posted.len() {
            break pulled;
        }
        assert!(
            Instant::now() < deadline,
            "events did not arrive after realtime came back: {pulled}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        message_ids(pulled["events"].as_array().unwrap()),
        posted,
        "each once, in order"
    );

    let query = format!("workspace_id={ws}&after_cursor={before_cursor}");
    let (mut socket, _) = connect(&stack.http_url, &query, Auth::Header(&token))
        .await
        .unwrap();
    assert_eq!(message_ids(&events(&mut socket, 20, WAIT).await), posted);
    assert!(
        next_event(&mut socket, Duration::from_millis(300))
            .await
            .is_none(),
        "nothing twice"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_changes_reach_sockets_through_the_log() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let (_, token) = stack.service_bot(&ws, "watcher", "bot:read").await;
    let (mut socket, _) = connect(
        &stack.http_url,
        &from_tail(&stack, &token, &ws).await,
        Auth::Header(&token),
    )
    .await
    .unwrap();

    let human = stack.add_human(&ws, "mia").await;
    let mut identity = stack.identity().await;
    identity
        .update_workspace(pb::UpdateWorkspaceRequest {
            workspace: ws.clone(),
            name: Some("Acme Corp".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    identity
        .remove_member(pb::RemoveMemberRequest {
            workspace: ws.clone(),
            user_id: human.id.clone(),
        })
        .await
        .unwrap();

    let got = events(&mut socket, 3, WAIT).await;
    let types: Vec<&str> = got.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["member.joined", "workspace.updated", "member.removed"]
    );
    assert_eq!(got[0]["payload"]["user_id"], human.id.as_str());
    assert_eq!(got[0]["payload"]["role"], "member");
    assert_eq!(got[1]["payload"]["name"], "Acme Corp");
    assert_eq!(got[2]["payload"]["user_id"], human.id.as_str());
    assert!(
        got.iter()
            .all(|e| e["cursor"].as_str().unwrap().starts_with("cur_"))
    );
    stack.stop().await;
}
