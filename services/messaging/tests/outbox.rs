//! Every successful mutation leaves exactly one outbox row per event it
//! returned, written in the same transaction; a refused mutation leaves none.

use clickclack_testkit::TestStack;
use clickclack_testkit::http::Method;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::{Value, json};

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    event_id: String,
    #[diesel(sql_type = Text)]
    event_type: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

struct Outbox(PgConnection);

impl Outbox {
    fn open(stack: &TestStack) -> Outbox {
        Outbox(PgConnection::establish(&stack.db.url).expect("connect to the test database"))
    }

    fn rows(&mut self) -> Vec<Row> {
        diesel::sql_query(
            "SELECT event_id, type AS event_type FROM messaging.outbox ORDER BY position",
        )
        .load(&mut self.0)
        .unwrap()
    }

    fn count_of(&mut self, event_id: &str) -> i64 {
        diesel::sql_query("SELECT count(*) AS n FROM messaging.outbox WHERE event_id = $1")
            .bind::<Text, _>(event_id)
            .get_result::<Count>(&mut self.0)
            .unwrap()
            .n
    }
}

async fn send(
    stack: &TestStack,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = Method::from_bytes(method.as_bytes()).expect("a method");
    let answer = stack
        .api()
        .call(method, path, Some(token), body.as_ref())
        .await;
    (answer.status, answer.body)
}

/// The (id, type) of every event an answer carries (`event` or `events`).
fn returned_events(body: &Value) -> Vec<(String, String)> {
    let mut events = Vec::new();
    if body["event"].is_object() {
        events.push(&body["event"]);
    }
    if let Some(list) = body["events"].as_array() {
        events.extend(list);
    }
    events
        .into_iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mutation_writes_exactly_its_events_and_failures_write_none() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let (_, token) = stack.service_bot(&ws, "writer", "bot:admin").await;
    let (_, other) = stack.service_bot(&ws, "other", "bot:admin").await;
    let mut outbox = Outbox::open(&stack);
    let baseline = outbox.rows().len();
    let mut expected: Vec<(String, String)> = Vec::new();

    // Successful mutations, each checked right after it ran.
    let channel = succeed(
        &stack,
        &mut outbox,
        &mut expected,
        "POST",
        &format!("/api/workspaces/{ws}/channels"),
        &token,
        Some(json!({"name": "releases"})),
        &["channel.created"],
    )
    .await;
    let channel_id = channel["channel"]["id"].as_str().unwrap().to_owned();
    succeed(
        &stack,
        &mut outbox,
        &mut expected,
        "PATCH",
        &format!("/api/channels/{channel_id}"),
        &token,
        Some(json!({"name": "releases-2026"})),
        &["channel.updated"],
    )
    .await;
    let posted = succeed(
        &stack,
        &mut outbox,
        &mut expected,
        "POST",
        &format!("/api/channels/{channel_id}/messages"),
        &token,
        Some(json!({"body": "ship it", "nonce": "n-1"})),
        &["message.created"],
    )
    .await;
    let message_id = posted["message"]["id"].as_str().unwrap().to_owned();
    let m = format!("/api/messages/{message_id}");
    succeed(
        &stack,
        &mut outbox,
        &mut expected,
        "POST",
        &format!("{m}/thread/replies"),
        &token,
        Some(json!({"body": "shipped"})),
        &["thread.reply_created", "thread.state_updated"],
    )
    .await;
    succeed(
        &stack,
        &mut outbox,
        &mut expected,
        "PATCH",
        &m,
        &token,
        Some(json!({"body": "ship it now"})),
        &["message.updated"],
    )
    .await;
    succeed(
        &stack,
        &mut outbox,
        &mut expected,
        "POST",
        &format!("{m}/reactions"),
        &token,
        Some(json!({"emoji": "rocket"})),
        &["reaction.added"],
    )
    .await;
    succeed(
        &stack,
        &mut outbox,
        &mut expected,
        "DELETE",
        &format!("{m}/reactions/rocket"),
        &token,
        None,
        &["reaction.removed"],
    )
    .await;
    succeed(
        &stack,
        &mut outbox,
        &mut expected,
        "POST",
        &format!("/api/channels/{channel_id}/read"),
        &token,
        Some(json!({"seq": 1})),
        &["channel.read"],
    )
    .await;
    succeed(
        &stack,
        &mut outbox,
        &mut expected,
        "DELETE",
        &m,
        &token,
        None,
        &["message.deleted"],
    )
    .await;

    // Refused or no-op mutations: no outbox row at all.
    let before = outbox.rows().len();
    let refused: Vec<(&str, String, &str, Option<Value>)> = vec![
        (
            "POST",
            format!("/api/workspaces/{ws}/channels"),
            &token,
            Some(json!({"name": "Releases 2026"})),
        ),
        (
            "POST",
            format!("/api/channels/{channel_id}/messages"),
            &token,
            Some(json!({"body": "   "})),
        ),
        (
            "POST",
            format!("/api/channels/{channel_id}/messages"),
            &token,
            Some(json!({"body": "x".repeat(40_001)})),
        ),
        (
            "POST",
            format!("/api/channels/{channel_id}/messages"),
            &token,
            Some(json!({"body": "ship it", "nonce": "n-1"})),
        ),
        (
            "POST",
            format!("/api/channels/{channel_id}/messages"),
            &token,
            Some(json!({"body": "other", "nonce": "n-1"})),
        ),
        (
            "PATCH",
            m.clone(),
            &other,
            Some(json!({"body": "not yours"})),
        ),
        (
            "POST",
            format!("{m}/reactions"),
            &token,
            Some(json!({"emoji": "two words"})),
        ),
        ("DELETE", format!("{m}/reactions/rocket"), &token, None),
        (
            "POST",
            "/api/channels/chn_missing/messages".to_owned(),
            &token,
            Some(json!({"body": "hi"})),
        ),
    ];
    for (method, path, caller, body) in refused {
        let (status, answer) = send(&stack, method, &path, caller, body).await;
        assert!(
            returned_events(&answer).is_empty(),
            "{method} {path}: {status} {answer}"
        );
        assert_eq!(
            outbox.rows().len(),
            before,
            "{method} {path} ({status}) left an outbox row"
        );
    }

    // Nothing else was written: the outbox holds exactly the returned events.
    let written: Vec<(String, String)> = outbox.rows()[baseline..]
        .iter()
        .map(|r| (r.event_id.clone(), r.event_type.clone()))
        .collect();
    assert_eq!(written, expected);
    stack.stop().await;
}

/// Runs a mutation that must succeed with exactly `types` events, each
/// stored once in the outbox.
#[allow(clippy::too_many_arguments)]
async fn succeed(
    stack: &TestStack,
    outbox: &mut Outbox,
    expected: &mut Vec<(String, String)>,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
    types: &[&str],
) -> Value {
    let (status, answer) = send(stack, method, path, token, body).await;
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {answer}"
    );
    let events = returned_events(&answer);
    let got: Vec<&str> = events.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(got, types, "{method} {path}");
    for (id, _) in &events {
        assert_eq!(
            outbox.count_of(id),
            1,
            "{method} {path}: one outbox row for {id}"
        );
    }
    expected.extend(events);
    answer
}
