//! The messaging surface of API.md §3-§7 and §9 over real HTTP: channels,
//! messages, threads, DMs, reactions, read state, uploads and search. Each
//! route is checked for its success shape, the error statuses a client can
//! provoke, and the scope it requires; every error body must be
//! `{"error": "<non-empty text>"}`.

use clickclack_testkit::http::{HeaderMap, Method, Multipart};
use clickclack_testkit::{TEST_UPLOAD_MAX_BYTES, TestStack};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// One request with a bearer token and an optional JSON body, through the
/// testkit client (which also refuses any `null` inside an answer).
async fn call(
    stack: &TestStack,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value, HeaderMap) {
    let answer = stack.api().call(method, path, Some(token), body).await;
    (answer.status, answer.body, answer.headers)
}

async fn get(stack: &TestStack, path: &str, token: &str) -> (u16, Value) {
    let (status, body, _) = call(stack, Method::GET, path, token, None).await;
    (status, body)
}

async fn post(stack: &TestStack, path: &str, token: &str, body: Value) -> (u16, Value) {
    let (status, body, _) = call(stack, Method::POST, path, token, Some(&body)).await;
    (status, body)
}

async fn patch(stack: &TestStack, path: &str, token: &str, body: Value) -> (u16, Value) {
    let (status, body, _) = call(stack, Method::PATCH, path, token, Some(&body)).await;
    (status, body)
}

async fn delete(stack: &TestStack, path: &str, token: &str) -> (u16, Value) {
    let (status, body, _) = call(stack, Method::DELETE, path, token, None).await;
    (status, body)
}

/// Asserts `status == expected` and a body of `{"error": "<non-empty>"}`.
#[track_caller]
fn assert_error(status: u16, body: &Value, expected: u16, context: &str) {
    assert_eq!(status, expected, "{context}: {body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.trim().is_empty()),
        "{context}: error body must be {{\"error\": \"<text>\"}}, got {body}"
    );
}

/// Asserts a 403 scope denial with a JSON error naming nothing in particular.
#[track_caller]
fn assert_forbidden(status: u16, body: &Value, context: &str) {
    assert_error(status, body, 403, context);
}

/// Posts a top-level channel message and answers it (asserting 201).
async fn post_message(stack: &TestStack, channel: &str, token: &str, text: &str) -> Value {
    let (status, body) = post(
        stack,
        &format!("/api/channels/{channel}/messages"),
        token,
        json!({ "body": text }),
    )
    .await;
    assert_eq!(status, 201, "posting {text:?}: {body}");
    body["message"].clone()
}

/// Posts a thread reply and answers the whole body (asserting 201).
async fn post_reply(stack: &TestStack, root: &str, token: &str, text: &str) -> Value {
    let (status, body) = post(
        stack,
        &format!("/api/messages/{root}/thread/replies"),
        token,
        json!({ "body": text }),
    )
    .await;
    assert_eq!(status, 201, "replying {text:?}: {body}");
    body
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {value}"))
}

fn array_of<'a>(value: &'a Value, key: &str) -> &'a Vec<Value> {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` is not an array in {value}"))
}

fn seqs(listing: &Value) -> Vec<i64> {
    array_of(listing, "messages")
        .iter()
        .map(|m| {
            m["channel_seq"]
                .as_i64()
                .unwrap_or_else(|| panic!("no channel_seq: {m}"))
        })
        .collect()
}

fn ids(values: &[Value]) -> Vec<&str> {
    values.iter().map(|v| str_of(v, "id")).collect()
}

fn is_absent_or_null(value: &Value, key: &str) -> bool {
    value.get(key).is_none_or(Value::is_null)
}

/// Asserts the documented `Event` shape, answering its payload.
#[track_caller]
fn assert_event(event: &Value, kind: &str, workspace: &str) -> Value {
    assert!(
        str_of(event, "id").starts_with("evt_"),
        "event ids start with evt_: {event}"
    );
    assert_eq!(event["type"], kind, "{event}");
    assert_eq!(event["workspace_id"], workspace, "{event}");
    assert!(
        !str_of(event, "created_at").is_empty(),
        "event has created_at: {event}"
    );
    assert!(
        event["payload"].is_object(),
        "payload is an object: {event}"
    );
    event["payload"].clone()
}

/// Asserts the hydrated `author` of a message written by a service bot.
#[track_caller]
fn assert_bot_author(message: &Value, bot_id: &str, handle: &str) {
    let author = &message["author"];
    assert_eq!(message["author_id"], bot_id, "{message}");
    assert_eq!(author["id"], bot_id, "{message}");
    assert_eq!(author["kind"], "bot", "{message}");
    assert_eq!(author["handle"], handle, "{message}");
    assert!(
        author["display_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{message}"
    );
}

/// `POST /api/uploads?{query}` with a multipart body.
async fn upload(stack: &TestStack, query: &str, token: &str, form: Multipart) -> (u16, Value) {
    let answer = stack
        .api()
        .upload(&format!("/api/uploads?{query}"), Some(token), form)
        .await;
    (answer.status, answer.body)
}

/// Deterministic, non-text bytes.
fn file_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

// ---------------------------------------------------------------------------
// Channels
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_channels_shows_general_and_needs_channels_read_in_the_own_workspace() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let other = stack.bootstrap("other").await;
    let ws = boot.workspace.id.as_str();
    let (_, reader) = stack.service_bot(ws, "reader", "bot:read").await;
    let (_, no_scope) = stack.service_bot(ws, "noscope", "messages:read").await;

    let (status, body) = get(&stack, &format!("/api/workspaces/{ws}/channels"), &reader).await;
    assert_eq!(status, 200, "{body}");
    let channels = array_of(&body, "channels");
    let general = channels
        .iter()
        .find(|c| c["name"] == "general")
        .unwrap_or_else(|| panic!("bootstrap creates #general: {body}"));
    assert_eq!(general["id"], boot.general.id.as_str());
    assert!(str_of(general, "id").starts_with("chn_"));
    assert_eq!(general["workspace_id"], ws);
    assert_eq!(general["kind"], "public");
    assert!(!str_of(general, "created_at").is_empty());
    for key in ["last_seq", "last_read_seq", "unread_count"] {
        assert!(
            general[key].is_i64() || general[key].is_u64(),
            "{key}: {general}"
        );
    }
    assert!(is_absent_or_null(general, "archived_at"), "{general}");

    let (status, body) = get(&stack, &format!("/api/workspaces/{ws}/channels"), &no_scope).await;
    assert_forbidden(status, &body, "listing channels without channels:read");
    assert!(body.get("channels").is_none());

    let (status, body) = get(
        &stack,
        &format!("/api/workspaces/{}/channels", other.workspace.id),
        &reader,
    )
    .await;
    assert_error(status, &body, 403, "listing another workspace's channels");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_channels_slugifies_names_and_rejects_duplicates_blank_names_and_bad_kinds() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, admin) = stack.service_bot(ws, "admin", "bot:admin").await;
    let (_, writer) = stack.service_bot(ws, "writer", "bot:write").await;
    let path = format!("/api/workspaces/{ws}/channels");

    let (status, body) = post(&stack, &path, &admin, json!({"name": "Release Notes"})).await;
    assert_eq!(status, 201, "{body}");
    let channel = &body["channel"];
    assert_eq!(channel["name"], "release-notes", "names are slugified");
    assert!(str_of(channel, "id").starts_with("chn_"));
    assert_eq!(channel["workspace_id"], ws);
    assert_eq!(channel["kind"], "public", "kind defaults to public");
    let payload = assert_event(&body["event"], "channel.created", ws);
    assert!(payload.is_object());

    let (status, body) = post(
        &stack,
        &path,
        &admin,
        json!({"name": "ops-private", "kind": "private"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["channel"]["kind"], "private");

    let (_, listing) = get(&stack, &path, &admin).await;
    let names: Vec<&str> = array_of(&listing, "channels")
        .iter()
        .map(|c| str_of(c, "name"))
        .collect();
    assert!(names.contains(&"release-notes"), "{listing}");

    for duplicate in ["general", "General", "release notes"] {
        let (status, body) = post(&stack, &path, &admin, json!({"name": duplicate})).await;
        assert_error(status, &body, 409, &format!("duplicate name {duplicate:?}"));
        assert!(
            str_of(&body, "error").contains("channel name must be unique in the workspace"),
            "{body}"
        );
    }

    for blank in ["", "   "] {
        let (status, body) = post(&stack, &path, &admin, json!({"name": blank})).await;
        assert_error(status, &body, 400, &format!("blank name {blank:?}"));
    }
    let (status, body) = post(
        &stack,
        &path,
        &admin,
        json!({"name": "weird", "kind": "galactic"}),
    )
    .await;
    assert_error(status, &body, 400, "unknown kind");

    let (status, body) = post(&stack, &path, &writer, json!({"name": "nope"})).await;
    assert_forbidden(status, &body, "creating a channel without channels:write");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patching_channels_renames_archives_and_rejects_bad_updates() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, admin) = stack.service_bot(ws, "admin", "bot:admin").await;
    let (_, writer) = stack.service_bot(ws, "writer", "bot:write").await;

    let (status, body) = post(
        &stack,
        &format!("/api/workspaces/{ws}/channels"),
        &admin,
        json!({"name": "drafts"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = str_of(&body["channel"], "id").to_owned();
    let path = format!("/api/channels/{id}");

    let (status, body) = patch(&stack, &path, &admin, json!({"name": "Final Drafts"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["channel"]["id"], id.as_str());
    assert_eq!(body["channel"]["name"], "final-drafts");
    assert_event(&body["event"], "channel.updated", ws);

    let (status, body) = patch(&stack, &path, &admin, json!({})).await;
    assert_error(status, &body, 400, "empty channel update");

    let (status, body) = patch(
        &stack,
        "/api/channels/chn_doesnotexist0000000000",
        &admin,
        json!({"name": "ghost"}),
    )
    .await;
    assert_error(status, &body, 404, "patching an unknown channel");

    let (status, body) = patch(&stack, &path, &admin, json!({"name": "General"})).await;
    assert_error(status, &body, 409, "renaming onto #general");

    let (status, body) = patch(&stack, &path, &admin, json!({"kind": "galactic"})).await;
    assert_error(status, &body, 400, "patching to an unknown kind");

    let (status, body) = patch(&stack, &path, &writer, json!({"name": "sneaky"})).await;
    assert_forbidden(status, &body, "patching without channels:write");

    // Posting works before archiving...
    post_message(&stack, &id, &admin, "before the archive").await;
    let (status, body) = patch(&stack, &path, &admin, json!({"archived": true})).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["channel"]["archived_at"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "archiving sets archived_at: {body}"
    );
    // ...and conflicts after.
    let (status, body) = post(
        &stack,
        &format!("/api/channels/{id}/messages"),
        &admin,
        json!({"body": "into the archive"}),
    )
    .await;
    assert_error(status, &body, 409, "posting to an archived channel");
    stack.stop().await;
}

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_a_message_returns_it_hydrated_with_a_created_event_and_increasing_seq() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let channel = boot.general.id.as_str();
    let (bot, token) = stack.service_bot(ws, "poster", "bot:write").await;
    let (_, reader) = stack.service_bot(ws, "reader", "bot:read").await;
    let path = format!("/api/channels/{channel}/messages");

    let mut last_seq = None;
    for (i, text) in ["first secret words", "second secret words", "third"]
        .into_iter()
        .enumerate()
    {
        let nonce = format!("nonce-{i}");
        let (status, body) = post(
            &stack,
            &path,
            &token,
            json!({
                "body": text,
                "nonce": nonce,
                "author_model": "gpt-test",
                "author_thinking": "high",
                "author_runtime": {"name": "openclaw", "version": "1.2.3"},
            }),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let message = &body["message"];
        let id = str_of(message, "id");
        assert!(id.starts_with("msg_"), "{message}");
        assert_eq!(message["workspace_id"], ws);
        assert_eq!(message["channel_id"], channel);
        assert_eq!(message["body"], text);
        assert_eq!(message["body_format"], "markdown");
        assert!(
            message["kind"].as_str().is_some_and(|k| !k.is_empty()),
            "{message}"
        );
        assert_eq!(message["thread_root_id"], id, "top-level: root is itself");
        assert!(is_absent_or_null(message, "parent_message_id"), "{message}");
        assert_eq!(message["nonce"], nonce.as_str());
        assert!(!str_of(message, "created_at").is_empty());
        assert!(is_absent_or_null(message, "edited_at"));
        assert!(is_absent_or_null(message, "deleted_at"));
        assert!(message["attachments"].is_array(), "{message}");
        assert!(message["reactions"].is_array(), "{message}");
        assert_bot_author(message, &bot.id, "poster");

        let seq = message["channel_seq"].as_i64().expect("channel_seq");
        if let Some(previous) = last_seq {
            assert_eq!(seq, previous + 1, "channel_seq increases by one");
        }
        last_seq = Some(seq);

        let event = &body["event"];
        let payload = assert_event(event, "message.created", ws);
        assert_eq!(event["channel_id"], channel);
        assert_eq!(event["seq"], seq, "event seq == channel_seq");
        assert_eq!(payload["message_id"], id);
        assert_eq!(payload["author_id"], bot.id.as_str());
        assert_eq!(payload["nonce"], nonce.as_str());
        assert!(
            !payload.to_string().contains(text),
            "payloads never carry the body: {payload}"
        );
    }

    let (status, body) = post(&stack, &path, &reader, json!({"body": "read only"})).await;
    assert_forbidden(status, &body, "posting without messages:write");
    let (status, body) = post(
        &stack,
        "/api/channels/chn_doesnotexist0000000000/messages",
        &token,
        json!({"body": "hello?"}),
    )
    .await;
    assert_error(status, &body, 404, "posting to an unknown channel");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_bodies_must_be_non_blank_and_at_most_40000_characters() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let (_, token) = stack
        .service_bot(&boot.workspace.id, "poster", "bot:write")
        .await;
    let path = format!("/api/channels/{}/messages", boot.general.id);

    for blank in ["", "   ", "\n\t "] {
        let (status, body) = post(&stack, &path, &token, json!({"body": blank})).await;
        assert_error(status, &body, 400, &format!("blank body {blank:?}"));
    }
    // Characters, not bytes: 'é' is two bytes in UTF-8.
    let too_long = "é".repeat(40_001);
    let (status, body) = post(&stack, &path, &token, json!({"body": too_long})).await;
    assert_error(status, &body, 400, "40,001-character body");

    let longest = "é".repeat(40_000);
    let (status, body) = post(&stack, &path, &token, json!({"body": longest})).await;
    assert_eq!(status, 201, "40,000 characters are fine: {}", body["error"]);
    assert_eq!(
        body["message"]["body"].as_str().unwrap().chars().count(),
        40_000
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_malformed_and_incomplete_json_bodies_get_json_errors() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let (_, token) = stack
        .service_bot(&boot.workspace.id, "poster", "bot:write")
        .await;
    let path = format!("/api/channels/{}/messages", boot.general.id);

    // Over the 1 MiB JSON cap: 413.
    let huge = json!({"body": "x".repeat(1024 * 1024 + 1)});
    let (status, body) = post(&stack, &path, &token, huge).await;
    assert_error(status, &body, 413, "a JSON body over 1 MiB");

    // Not JSON at all: 400 (or 422), still a JSON error.
    let answer = stack
        .api()
        .send(
            Method::POST,
            &path,
            Some(&token),
            "application/json",
            "{\"body\": ",
        )
        .await;
    let (status, body) = (answer.status, answer.body);
    assert!(status == 400 || status == 422, "{status} {body}");
    assert_error(status, &body, status, "malformed JSON");

    // Well-formed but without the required field.
    let (status, body) = post(&stack, &path, &token, json!({"nonce": "n"})).await;
    assert!(status == 400 || status == 422, "{status} {body}");
    assert_error(status, &body, status, "a message without `body`");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonce_replays_return_the_original_without_an_event_and_conflict_on_a_new_body() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "poster", "bot:write").await;
    let path = format!("/api/channels/{}/messages", boot.general.id);

    let (status, first) = post(
        &stack,
        &path,
        &token,
        json!({"body": "exactly once", "nonce": "client-nonce-1"}),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    let id = str_of(&first["message"], "id");

    let (status, replay) = post(
        &stack,
        &path,
        &token,
        json!({"body": "exactly once", "nonce": "client-nonce-1"}),
    )
    .await;
    assert_eq!(status, 200, "a replay answers 200: {replay}");
    assert_eq!(replay["message"]["id"], id);
    assert_eq!(
        replay["message"]["channel_seq"],
        first["message"]["channel_seq"]
    );
    assert!(
        replay.get("event").is_none(),
        "a replay has no `event` key: {replay}"
    );

    let (status, body) = post(
        &stack,
        &path,
        &token,
        json!({"body": "something else", "nonce": "client-nonce-1"}),
    )
    .await;
    assert_error(status, &body, 409, "same nonce, different body");

    // Exactly one message was stored.
    let (_, listing) = get(&stack, &path, &token).await;
    let stored: Vec<&str> = ids(array_of(&listing, "messages"));
    assert_eq!(stored, vec![id], "{listing}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looking_up_messages_by_nonce_finds_them_and_404s_with_the_support_header() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (bot, token) = stack.service_bot(ws, "poster", "bot:write").await;
    let (_, no_scope) = stack.service_bot(ws, "profiler", "profile:read").await;
    let (status, created) = post(
        &stack,
        &format!("/api/channels/{}/messages", boot.general.id),
        &token,
        json!({"body": "find me", "nonce": "lookup-nonce"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");

    let (status, body) = get(
        &stack,
        &format!("/api/messages/by-nonce?workspace_id={ws}&nonce=lookup-nonce"),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["id"], created["message"]["id"]);
    assert_eq!(body["message"]["body"], "find me");
    assert_bot_author(&body["message"], &bot.id, "poster");

    let (status, body, headers) = call(
        &stack,
        Method::GET,
        &format!("/api/messages/by-nonce?workspace_id={ws}&nonce=never-used"),
        &token,
        None,
    )
    .await;
    assert_error(status, &body, 404, "unknown nonce");
    assert_eq!(
        headers
            .get("x-clickclack-message-nonce")
            .and_then(|v| v.to_str().ok()),
        Some("supported"),
        "the 404 says nonce lookups are supported: {headers:?}"
    );

    let (status, body) = get(&stack, "/api/messages/by-nonce?nonce=lookup-nonce", &token).await;
    assert_error(status, &body, 400, "by-nonce without workspace_id");

    let (status, body) = get(
        &stack,
        &format!("/api/messages/by-nonce?workspace_id={ws}&nonce=lookup-nonce"),
        &no_scope,
    )
    .await;
    assert_forbidden(status, &body, "by-nonce without messages:read");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_commentary_needs_the_agent_activity_scope_and_unknown_kinds_are_rejected() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, plain) = stack.service_bot(ws, "plain", "bot:write").await;
    let (agent, agent_token) = stack
        .service_bot(ws, "agent", "bot:write,agent_activity:write")
        .await;
    let path = format!("/api/channels/{}/messages", boot.general.id);

    let (status, body) = post(
        &stack,
        &path,
        &plain,
        json!({"body": "thinking...", "kind": "agent_commentary"}),
    )
    .await;
    assert_forbidden(
        status,
        &body,
        "agent_commentary without agent_activity:write",
    );

    let (status, body) = post(
        &stack,
        &path,
        &agent_token,
        json!({"body": "thinking...", "kind": "agent_commentary"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["kind"], "agent_commentary");
    assert_bot_author(&body["message"], &agent.id, "agent");

    let (status, body) = post(
        &stack,
        &path,
        &agent_token,
        json!({"body": "hmm", "kind": "interpretive_dance"}),
    )
    .await;
    assert_error(status, &body, 400, "unknown message kind");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_listing_pages_top_level_messages_ascending_with_cursors() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let channel = boot.general.id.as_str();
    let (_, token) = stack.service_bot(ws, "poster", "bot:write").await;
    let (_, no_scope) = stack.service_bot(ws, "profiler", "profile:read").await;
    let path = format!("/api/channels/{channel}/messages");

    let mut posted = Vec::new();
    for i in 1..=5 {
        posted.push(post_message(&stack, channel, &token, &format!("message {i}")).await);
    }
    let base = posted[0]["channel_seq"].as_i64().unwrap();
    let seq = |n: i64| base + n - 1; // seq of the n-th message
    let root_id = str_of(&posted[0], "id").to_owned();
    let reply = post_reply(&stack, &root_id, &token, "a reply, not a root").await;
    let reply_id = str_of(&reply["message"], "id").to_owned();

    // No cursor: everything (below the default limit), ascending, no replies.
    let (status, all) = get(&stack, &path, &token).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(seqs(&all), (1..=5).map(seq).collect::<Vec<_>>(), "{all}");
    assert!(!ids(array_of(&all, "messages")).contains(&reply_id.as_str()));
    assert_eq!(all["oldest_seq"], seq(1));
    assert_eq!(all["newest_seq"], seq(5));
    assert_eq!(all["has_older"], false);
    assert_eq!(all["has_newer"], false);
    let first = &array_of(&all, "messages")[0];
    assert_eq!(
        first["author"]["kind"], "bot",
        "listed messages carry author"
    );
    assert_eq!(
        first["thread_state"]["reply_count"], 1,
        "the root's thread_state counts its reply: {first}"
    );

    // No cursor with a limit: the newest page.
    let (status, newest) = get(&stack, &format!("{path}?limit=2"), &token).await;
    assert_eq!(status, 200, "{newest}");
    assert_eq!(seqs(&newest), vec![seq(4), seq(5)]);
    assert_eq!(newest["has_older"], true);
    assert_eq!(newest["has_newer"], false);

    let (status, after) = get(
        &stack,
        &format!("{path}?after_seq={}&limit=2", seq(2)),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(seqs(&after), vec![seq(3), seq(4)], "after_seq is exclusive");
    assert_eq!(after["has_newer"], true);
    assert_eq!(after["oldest_seq"], seq(3));
    assert_eq!(after["newest_seq"], seq(4));

    let (status, before) = get(&stack, &format!("{path}?before_seq={}", seq(3)), &token).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(
        seqs(&before),
        vec![seq(1), seq(2)],
        "before_seq is exclusive"
    );
    assert_eq!(before["has_older"], false);
    assert_eq!(before["has_newer"], true);

    let (status, around) = get(
        &stack,
        &format!("{path}?around_seq={}&limit=3", seq(3)),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{around}");
    let around_seqs = seqs(&around);
    assert!(around_seqs.windows(2).all(|w| w[0] < w[1]), "{around}");
    assert!(
        around_seqs.contains(&seq(2)) && around_seqs.contains(&seq(4)),
        "a page around 3 holds its neighbours: {around}"
    );

    for bad in [
        "limit=0".to_owned(),
        "limit=201".to_owned(),
        format!("after_seq={}&before_seq={}", seq(1), seq(5)),
        format!("after_seq={}&around_seq={}", seq(1), seq(3)),
        "after_seq=abc".to_owned(),
    ] {
        let (status, body) = get(&stack, &format!("{path}?{bad}"), &token).await;
        assert_error(status, &body, 400, &format!("listing with {bad}"));
    }
    let (status, body) = get(&stack, &format!("{path}?limit=200"), &token).await;
    assert_eq!(status, 200, "limit 200 is allowed: {body}");

    let (status, body) = get(
        &stack,
        "/api/channels/chn_doesnotexist0000000000/messages",
        &token,
    )
    .await;
    assert_error(status, &body, 404, "listing an unknown channel");
    let (status, body) = get(&stack, &path, &no_scope).await;
    assert_forbidden(status, &body, "listing without messages:read");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetching_a_message_by_id_returns_it_and_unknown_ids_get_404() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (bot, token) = stack.service_bot(ws, "poster", "bot:write").await;
    let (_, no_scope) = stack.service_bot(ws, "profiler", "profile:read").await;
    let message = post_message(&stack, &boot.general.id, &token, "fetch me").await;
    let id = str_of(&message, "id");

    let (status, body) = get(&stack, &format!("/api/messages/{id}"), &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["id"], id);
    assert_eq!(body["message"]["body"], "fetch me");
    assert_eq!(body["message"]["channel_seq"], message["channel_seq"]);
    assert!(body["message"]["attachments"].is_array());
    assert_bot_author(&body["message"], &bot.id, "poster");

    let unknown = "msg_doesnotexist0000000000";
    let (status, body) = get(&stack, &format!("/api/messages/{unknown}"), &token).await;
    assert_error(status, &body, 404, "unknown message");
    let (status, body) = patch(
        &stack,
        &format!("/api/messages/{unknown}"),
        &token,
        json!({"body": "x"}),
    )
    .await;
    assert_error(status, &body, 404, "editing an unknown message");
    let (status, body) = delete(&stack, &format!("/api/messages/{unknown}"), &token).await;
    assert_error(status, &body, 404, "deleting an unknown message");

    let (status, body) = get(&stack, &format!("/api/messages/{id}"), &no_scope).await;
    assert_forbidden(status, &body, "fetching without messages:read");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_message_sets_edited_at_and_is_reserved_to_its_author() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (bot, token) = stack.service_bot(ws, "author", "bot:write").await;
    let (_, other) = stack.service_bot(ws, "other", "bot:write").await;
    let (_, reader) = stack.service_bot(ws, "reader", "bot:read").await;
    let message = post_message(&stack, &boot.general.id, &token, "tpyo").await;
    let id = str_of(&message, "id");
    let path = format!("/api/messages/{id}");

    let (status, body) = patch(&stack, &path, &other, json!({"body": "hijacked"})).await;
    assert_forbidden(status, &body, "editing another bot's message");
    let (status, body) = patch(&stack, &path, &reader, json!({"body": "hijacked"})).await;
    assert_forbidden(status, &body, "editing without messages:write");
    for blank in ["", "  "] {
        let (status, body) = patch(&stack, &path, &token, json!({"body": blank})).await;
        assert_error(status, &body, 400, &format!("editing to {blank:?}"));
    }

    let (status, body) = patch(&stack, &path, &token, json!({"body": "typo fixed"})).await;
    assert_eq!(status, 200, "{body}");
    let edited = &body["message"];
    assert_eq!(edited["id"], id);
    assert_eq!(edited["body"], "typo fixed");
    assert!(
        edited["edited_at"].as_str().is_some_and(|t| !t.is_empty()),
        "{edited}"
    );
    assert_eq!(edited["channel_seq"], message["channel_seq"]);
    assert_bot_author(edited, &bot.id, "author");
    let payload = assert_event(&body["event"], "message.updated", ws);
    assert_eq!(payload["message_id"], id);
    assert!(!payload.to_string().contains("typo fixed"), "{payload}");

    let (_, fetched) = get(&stack, &path, &token).await;
    assert_eq!(fetched["message"]["body"], "typo fixed");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_message_soft_deletes_it_and_is_reserved_to_its_author() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let channel = boot.general.id.as_str();
    let (_, token) = stack.service_bot(ws, "author", "bot:write").await;
    let (_, other) = stack.service_bot(ws, "other", "bot:write").await;
    let (_, reader) = stack.service_bot(ws, "reader", "bot:read").await;
    let message = post_message(&stack, channel, &token, "regrettable words").await;
    let id = str_of(&message, "id");
    let path = format!("/api/messages/{id}");

    let (status, body) = delete(&stack, &path, &other).await;
    assert_forbidden(status, &body, "deleting another bot's message");
    let (status, body) = delete(&stack, &path, &reader).await;
    assert_forbidden(status, &body, "deleting without messages:write");
    let (_, still) = get(&stack, &path, &token).await;
    assert_eq!(still["message"]["body"], "regrettable words");

    let (status, body) = delete(&stack, &path, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["id"], id);
    assert_eq!(body["message"]["body"], "", "soft delete clears the body");
    assert!(
        body["message"]["deleted_at"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    let payload = assert_event(&body["event"], "message.deleted", ws);
    assert_eq!(payload["message_id"], id);

    let (_, listing) = get(&stack, &format!("/api/channels/{channel}/messages"), &token).await;
    let listed = array_of(&listing, "messages")
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("deleted messages stay listed: {listing}"));
    assert_eq!(listed["body"], "");
    assert!(listed["deleted_at"].is_string(), "{listed}");
    assert!(!listing.to_string().contains("regrettable"), "{listing}");
    stack.stop().await;
}

// ---------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_replies_land_under_the_root_with_thread_seq_and_two_events() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let channel = boot.general.id.as_str();
    let (bot, token) = stack.service_bot(ws, "replier", "bot:write").await;
    let (_, reader) = stack.service_bot(ws, "reader", "bot:read").await;
    let root = post_message(&stack, channel, &token, "root of the thread").await;
    let root_id = str_of(&root, "id").to_owned();
    let replies_path = format!("/api/messages/{root_id}/thread/replies");

    let first = post_reply(&stack, &root_id, &token, "first reply text").await;
    let reply = &first["message"];
    assert!(str_of(reply, "id").starts_with("msg_"));
    assert_eq!(reply["parent_message_id"], root_id.as_str());
    assert_eq!(reply["thread_root_id"], root_id.as_str());
    assert_eq!(reply["channel_id"], channel);
    assert_eq!(reply["thread_seq"], 1);
    assert!(
        is_absent_or_null(reply, "channel_seq"),
        "replies have no channel_seq: {reply}"
    );
    assert_bot_author(reply, &bot.id, "replier");
    assert_eq!(first["thread_state"]["root_message_id"], root_id.as_str());
    assert_eq!(first["thread_state"]["reply_count"], 1);
    let events = array_of(&first, "events");
    assert_eq!(events.len(), 2, "{first}");
    let created = assert_event(&events[0], "thread.reply_created", ws);
    assert_eq!(events[0]["channel_id"], channel);
    assert_eq!(created["message_id"], reply["id"]);
    assert_eq!(created["root_message_id"], root_id.as_str());
    assert_eq!(created["author_id"], bot.id.as_str());
    assert!(!created.to_string().contains("first reply text"));
    let state = assert_event(&events[1], "thread.state_updated", ws);
    assert_eq!(state["root_message_id"], root_id.as_str());

    let second = post_reply(&stack, &root_id, &token, "second reply").await;
    assert_eq!(second["message"]["thread_seq"], 2);

    // A reply to a reply is placed under the same root.
    let nested_target = str_of(&second["message"], "id").to_owned();
    let third = post_reply(&stack, &nested_target, &token, "reply to a reply").await;
    assert_eq!(third["message"]["parent_message_id"], root_id.as_str());
    assert_eq!(third["message"]["thread_root_id"], root_id.as_str());
    assert_eq!(third["message"]["thread_seq"], 3);
    assert_eq!(third["thread_state"]["reply_count"], 3);

    // Nonce replay: 200, the original reply, events null.
    let (status, body) = post(
        &stack,
        &replies_path,
        &token,
        json!({"body": "idempotent reply", "nonce": "reply-nonce"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let original = body["message"]["id"].clone();
    let (status, body) = post(
        &stack,
        &replies_path,
        &token,
        json!({"body": "idempotent reply", "nonce": "reply-nonce"}),
    )
    .await;
    assert_eq!(status, 200, "a reply replay answers 200: {body}");
    assert_eq!(body["message"]["id"], original);
    assert!(body["events"].is_null(), "replay has events: null: {body}");

    let (status, body) = post(&stack, &replies_path, &token, json!({"body": "  "})).await;
    assert_error(status, &body, 400, "blank reply");
    let (status, body) = post(
        &stack,
        "/api/messages/msg_doesnotexist0000000000/thread/replies",
        &token,
        json!({"body": "to nowhere"}),
    )
    .await;
    assert_error(status, &body, 404, "replying to an unknown message");
    let (status, body) = post(&stack, &replies_path, &reader, json!({"body": "no"})).await;
    assert_forbidden(status, &body, "replying without threads:write");

    // The root's thread_state follows, wherever the root is read.
    let (_, fetched) = get(&stack, &format!("/api/messages/{root_id}"), &token).await;
    assert_eq!(
        fetched["message"]["thread_state"]["reply_count"], 4,
        "{fetched}"
    );
    let (_, listing) = get(&stack, &format!("/api/channels/{channel}/messages"), &token).await;
    assert_eq!(ids(array_of(&listing, "messages")), vec![root_id.as_str()]);
    assert_eq!(
        array_of(&listing, "messages")[0]["thread_state"]["reply_count"],
        4
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_thread_pages_replies_from_the_start_or_the_latest() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "replier", "bot:write").await;
    let (_, no_scope) = stack.service_bot(ws, "profiler", "profile:read").await;
    let root = post_message(&stack, &boot.general.id, &token, "thread root").await;
    let root_id = str_of(&root, "id").to_owned();
    for i in 1..=4 {
        post_reply(&stack, &root_id, &token, &format!("reply {i}")).await;
    }
    let path = format!("/api/messages/{root_id}/thread");
    let thread_seqs = |body: &Value| -> Vec<i64> {
        array_of(body, "replies")
            .iter()
            .map(|r| r["thread_seq"].as_i64().expect("thread_seq"))
            .collect()
    };

    let (status, body) = get(&stack, &path, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["root"]["id"], root_id.as_str());
    assert_eq!(body["root"]["body"], "thread root");
    assert_eq!(thread_seqs(&body), vec![1, 2, 3, 4]);
    assert_eq!(body["replies"][0]["body"], "reply 1");
    assert_eq!(body["replies"][0]["author"]["kind"], "bot");
    assert_eq!(body["thread_state"]["root_message_id"], root_id.as_str());
    assert_eq!(body["thread_state"]["reply_count"], 4);
    assert_eq!(body["oldest_seq"], 1);
    assert_eq!(body["newest_seq"], 4);
    assert_eq!(body["has_older"], false);
    assert_eq!(body["has_newer"], false);

    let (status, body) = get(&stack, &format!("{path}?limit=2"), &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(thread_seqs(&body), vec![1, 2], "default: the earliest page");
    assert_eq!(body["has_newer"], true);
    assert_eq!(body["has_older"], false);

    let (status, body) = get(&stack, &format!("{path}?limit=2&latest=true"), &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        thread_seqs(&body),
        vec![3, 4],
        "latest=true: the newest page"
    );
    assert_eq!(body["has_older"], true);
    assert_eq!(body["has_newer"], false);

    let (status, body) = get(
        &stack,
        "/api/messages/msg_doesnotexist0000000000/thread",
        &token,
    )
    .await;
    assert_error(status, &body, 404, "thread of an unknown message");
    let (status, body) = get(&stack, &path, &no_scope).await;
    assert_forbidden(status, &body, "reading a thread without threads:read");
    stack.stop().await;
}

// ---------------------------------------------------------------------------
// Direct messages
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_dms_finds_or_creates_one_conversation_per_member_set() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let other = stack.bootstrap("other").await;
    let ws = boot.workspace.id.as_str();
    let (bot, token) = stack.service_bot(ws, "dmbot", "bot:write").await;
    let (_, reader) = stack.service_bot(ws, "reader", "bot:read").await;
    let (_, outsider) = stack.service_bot(ws, "outsider", "bot:write").await;
    let mia = stack.add_human(ws, "mia").await;
    let stranger = stack.add_human(&other.workspace.id, "stranger").await;

    let (status, body) = post(
        &stack,
        "/api/dms",
        &token,
        json!({"workspace_id": ws, "member_ids": [mia.id]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let conversation = &body["conversation"];
    let id = str_of(conversation, "id").to_owned();
    assert!(id.starts_with("dm_"), "{conversation}");
    assert_eq!(conversation["workspace_id"], ws);
    let mut members: Vec<&str> = ids(array_of(conversation, "members"));
    members.sort();
    let mut expected = vec![bot.id.as_str(), mia.id.as_str()];
    expected.sort();
    assert_eq!(members, expected, "the caller is always a member");
    let member = array_of(conversation, "members")
        .iter()
        .find(|m| m["id"] == mia.id.as_str())
        .unwrap();
    assert_eq!(member["kind"], "human");
    assert_eq!(member["handle"], "mia");

    // The same set, listed differently, is the same conversation.
    let (status, again) = post(
        &stack,
        "/api/dms",
        &token,
        json!({"workspace_id": ws, "member_ids": [mia.id, bot.id]}),
    )
    .await;
    assert!((200..300).contains(&status), "{status} {again}");
    assert_eq!(again["conversation"]["id"], id.as_str());

    let (status, body) = post(
        &stack,
        "/api/dms",
        &token,
        json!({"workspace_id": ws, "member_ids": [stranger.id]}),
    )
    .await;
    assert_error(status, &body, 400, "a member from another workspace");

    let mut crowd = Vec::new();
    for i in 0..32 {
        crowd.push(stack.add_human(ws, &format!("crowd{i}")).await.id);
    }
    let (status, body) = post(
        &stack,
        "/api/dms",
        &token,
        json!({"workspace_id": ws, "member_ids": crowd}),
    )
    .await;
    assert_error(status, &body, 400, "33 members in all");
    let (status, body) = post(
        &stack,
        "/api/dms",
        &token,
        json!({"workspace_id": ws, "member_ids": crowd[..31]}),
    )
    .await;
    assert_eq!(status, 201, "32 members in all are fine: {body}");
    assert_eq!(array_of(&body["conversation"], "members").len(), 32);

    let (status, body) = post(
        &stack,
        "/api/dms",
        &reader,
        json!({"workspace_id": ws, "member_ids": [mia.id]}),
    )
    .await;
    assert_forbidden(status, &body, "opening a DM without dms:write");

    // Listing and fetching.
    let (status, body) = get(&stack, &format!("/api/dms?workspace_id={ws}"), &token).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        ids(array_of(&body, "conversations")).contains(&id.as_str()),
        "{body}"
    );
    let (status, body) = get(&stack, &format!("/api/dms/{id}"), &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["conversation"]["id"], id.as_str());
    assert_eq!(array_of(&body["conversation"], "members").len(), 2);

    // Non-members neither see nor list it.
    let (status, body) = get(&stack, &format!("/api/dms/{id}"), &outsider).await;
    assert_error(status, &body, 404, "a non-member fetching a DM");
    let (status, body) = get(&stack, &format!("/api/dms?workspace_id={ws}"), &outsider).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !ids(array_of(&body, "conversations")).contains(&id.as_str()),
        "{body}"
    );
    let (status, body) = get(&stack, "/api/dms/dm_doesnotexist0000000000", &token).await;
    assert_error(status, &body, 404, "an unknown DM");

    let (_, no_scope) = stack.service_bot(ws, "profiler", "profile:read").await;
    let (status, body) = get(&stack, &format!("/api/dms?workspace_id={ws}"), &no_scope).await;
    assert_forbidden(status, &body, "listing DMs without dms:read");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dm_messages_have_their_own_seq_and_stay_private_to_members_with_dms_read() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (bot, token) = stack.service_bot(ws, "dmbot", "bot:write").await;
    let (limited, limited_token) = stack
        .service_bot(ws, "limited", "messages:read,profile:read")
        .await;
    let (_, outsider) = stack.service_bot(ws, "outsider", "bot:write").await;
    // The channel's seq is ahead so a shared counter would show.
    post_message(&stack, &boot.general.id, &token, "channel noise 1").await;
    post_message(&stack, &boot.general.id, &token, "channel noise 2").await;

    let (status, body) = post(
        &stack,
        "/api/dms",
        &token,
        json!({"workspace_id": ws, "member_ids": [limited.id]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let dm = str_of(&body["conversation"], "id").to_owned();
    let path = format!("/api/dms/{dm}/messages");

    let mut dm_messages = Vec::new();
    for (i, text) in ["private hello", "private followup"]
        .into_iter()
        .enumerate()
    {
        let (status, body) = post(&stack, &path, &token, json!({"body": text})).await;
        assert_eq!(status, 201, "{body}");
        let message = &body["message"];
        assert_eq!(message["direct_conversation_id"], dm.as_str());
        assert!(is_absent_or_null(message, "channel_id"), "{message}");
        assert_eq!(message["channel_seq"], i as i64 + 1, "per-conversation seq");
        assert_bot_author(message, &bot.id, "dmbot");
        let payload = assert_event(&body["event"], "message.created", ws);
        assert_eq!(body["event"]["seq"], i as i64 + 1);
        assert_eq!(payload["message_id"], message["id"]);
        assert_eq!(payload["direct_conversation_id"], dm.as_str());
        assert!(!payload.to_string().contains(text));
        dm_messages.push(message.clone());
    }

    let (status, listing) = get(&stack, &path, &token).await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(seqs(&listing), vec![1, 2]);
    assert_eq!(listing["messages"][0]["body"], "private hello");
    let (status, listing) = get(&stack, &format!("{path}?after_seq=1&limit=5"), &token).await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(seqs(&listing), vec![2]);

    let (status, body) = get(&stack, &path, &outsider).await;
    assert_error(status, &body, 404, "a non-member listing DM messages");
    let (status, body) = post(&stack, &path, &outsider, json!({"body": "let me in"})).await;
    assert_error(status, &body, 404, "a non-member posting to a DM");
    let dm_message_id = str_of(&dm_messages[0], "id");
    let (status, body) = get(&stack, &format!("/api/messages/{dm_message_id}"), &outsider).await;
    assert_error(status, &body, 404, "a non-member fetching a DM message");

    // A member whose token lacks dms:read may not read DM messages.
    let (status, body) = get(
        &stack,
        &format!("/api/messages/{dm_message_id}"),
        &limited_token,
    )
    .await;
    assert_forbidden(status, &body, "a DM message without dms:read");
    let (status, body) = get(&stack, &path, &limited_token).await;
    assert_forbidden(status, &body, "listing DM messages without dms:read");
    let (status, body) = post(&stack, &path, &limited_token, json!({"body": "hi"})).await;
    assert_forbidden(status, &body, "posting to a DM without dms:write");
    stack.stop().await;
}

// ---------------------------------------------------------------------------
// Reactions and read state
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_are_added_once_per_user_counted_and_removed() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "reactor", "bot:write").await;
    let (_, second) = stack.service_bot(ws, "second", "bot:write").await;
    let (_, reader) = stack.service_bot(ws, "reader", "bot:read").await;
    let message = post_message(&stack, &boot.general.id, &token, "react to me").await;
    let id = str_of(&message, "id");
    let path = format!("/api/messages/{id}/reactions");

    let (status, body) = post(&stack, &path, &token, json!({"emoji": "👍"})).await;
    assert_eq!(status, 201, "{body}");
    let payload = assert_event(&body["event"], "reaction.added", ws);
    assert_eq!(payload["message_id"], id);
    assert_eq!(payload["emoji"], "👍");
    assert_eq!(
        body["reactions"],
        json!([{"emoji": "👍", "count": 1, "reacted_by_me": true}])
    );

    let (status, body) = post(&stack, &path, &token, json!({"emoji": "👍"})).await;
    assert_eq!(status, 200, "repeating a reaction answers 200: {body}");
    assert_eq!(body["reactions"][0]["count"], 1, "{body}");

    let (status, body) = post(&stack, &path, &second, json!({"emoji": "👍"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["reactions"],
        json!([{"emoji": "👍", "count": 2, "reacted_by_me": true}])
    );

    let (_, fetched) = get(&stack, &format!("/api/messages/{id}"), &token).await;
    let reactions = array_of(&fetched["message"], "reactions");
    assert_eq!(reactions.len(), 1, "{fetched}");
    assert_eq!(reactions[0]["emoji"], "👍");
    assert_eq!(reactions[0]["count"], 2);

    let (status, body) = delete(&stack, &format!("{path}/👍"), &token).await;
    assert_eq!(status, 200, "{body}");
    let payload = assert_event(&body["event"], "reaction.removed", ws);
    assert_eq!(payload["message_id"], id);
    assert_eq!(payload["emoji"], "👍");
    assert_eq!(
        body["reactions"],
        json!([{"emoji": "👍", "count": 1, "reacted_by_me": false}])
    );

    for bad in ["thumbs up", "", "   "] {
        let (status, body) = post(&stack, &path, &token, json!({"emoji": bad})).await;
        assert_error(status, &body, 400, &format!("emoji {bad:?}"));
    }
    let (status, body) = post(
        &stack,
        "/api/messages/msg_doesnotexist0000000000/reactions",
        &token,
        json!({"emoji": "tada"}),
    )
    .await;
    assert_error(status, &body, 404, "reacting to an unknown message");
    let (status, body) = post(&stack, &path, &reader, json!({"emoji": "tada"})).await;
    assert_forbidden(status, &body, "reacting without messages:write");
    let (status, body) = delete(&stack, &format!("{path}/tada"), &reader).await;
    assert_forbidden(status, &body, "unreacting without messages:write");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_receipts_move_last_read_seq_and_unread_counts() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let channel = boot.general.id.as_str();
    let (_, writer) = stack.service_bot(ws, "writer", "bot:write").await;
    let (reader_bot, reader) = stack.service_bot(ws, "reader", "bot:write").await;
    let (_, no_scope) = stack.service_bot(ws, "profiler", "profile:read").await;
    let mut seqs_posted = Vec::new();
    for i in 1..=3 {
        let m = post_message(&stack, channel, &writer, &format!("unread {i}")).await;
        seqs_posted.push(m["channel_seq"].as_i64().unwrap());
    }
    let general_for = |listing: &Value| -> Value {
        array_of(listing, "channels")
            .iter()
            .find(|c| c["id"] == channel)
            .cloned()
            .unwrap_or_else(|| panic!("no #general: {listing}"))
    };
    let channels_path = format!("/api/workspaces/{ws}/channels");

    let (_, listing) = get(&stack, &channels_path, &reader).await;
    let general = general_for(&listing);
    assert_eq!(general["last_seq"], seqs_posted[2], "{general}");
    assert_eq!(general["unread_count"], 3, "{general}");

    let (status, body) = post(
        &stack,
        &format!("/api/channels/{channel}/read"),
        &reader,
        json!({"seq": seqs_posted[1]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["receipt"].is_object(), "{body}");
    let (_, listing) = get(&stack, &channels_path, &reader).await;
    let general = general_for(&listing);
    assert_eq!(general["last_read_seq"], seqs_posted[1], "{general}");
    assert_eq!(general["unread_count"], 1, "{general}");
    // Read state is per user.
    let (_, theirs) = get(&stack, &channels_path, &writer).await;
    assert_ne!(general_for(&theirs)["last_read_seq"], seqs_posted[1]);

    let (status, body) = post(
        &stack,
        &format!("/api/channels/{channel}/read"),
        &reader,
        json!({"seq": -1}),
    )
    .await;
    assert_error(status, &body, 400, "negative channel read seq");
    let (status, body) = post(
        &stack,
        "/api/channels/chn_doesnotexist0000000000/read",
        &reader,
        json!({"seq": 1}),
    )
    .await;
    assert_error(status, &body, 404, "reading an unknown channel");
    let (status, body) = post(
        &stack,
        &format!("/api/channels/{channel}/read"),
        &no_scope,
        json!({"seq": 1}),
    )
    .await;
    assert_forbidden(status, &body, "marking read with only profile:read");

    // DMs.
    let (status, body) = post(
        &stack,
        "/api/dms",
        &writer,
        json!({"workspace_id": ws, "member_ids": [reader_bot.id]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let dm = str_of(&body["conversation"], "id").to_owned();
    for text in ["dm one", "dm two"] {
        let (status, body) = post(
            &stack,
            &format!("/api/dms/{dm}/messages"),
            &writer,
            json!({"body": text}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = post(
        &stack,
        &format!("/api/dms/{dm}/read"),
        &reader,
        json!({"seq": 1}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["receipt"].is_object(), "{body}");
    let (_, body) = get(&stack, &format!("/api/dms/{dm}"), &reader).await;
    assert_eq!(body["conversation"]["last_seq"], 2, "{body}");
    assert_eq!(body["conversation"]["last_read_seq"], 1, "{body}");
    assert_eq!(body["conversation"]["unread_count"], 1, "{body}");
    let (status, body) = post(
        &stack,
        &format!("/api/dms/{dm}/read"),
        &reader,
        json!({"seq": -5}),
    )
    .await;
    assert_error(status, &body, 400, "negative DM read seq");
    stack.stop().await;
}

// ---------------------------------------------------------------------------
// Uploads and attachments
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_stored_idempotently_by_nonce_and_downloaded_byte_for_byte() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "uploader", "bot:write").await;
    let (_, reader) = stack.service_bot(ws, "reader", "bot:read").await;
    let content = file_bytes(10_000);

    let query = format!("workspace_id={ws}&nonce=upload-nonce-1");
    let (status, body) = upload(
        &stack,
        &query,
        &token,
        Multipart::file("file", "chart.png", "image/png", &content),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let stored = &body["upload"];
    let id = str_of(stored, "id").to_owned();
    assert!(id.starts_with("upl_"), "{stored}");
    assert_eq!(stored["filename"], "chart.png");
    assert_eq!(stored["content_type"], "image/png");
    assert_eq!(stored["byte_size"], content.len());
    assert!(!str_of(stored, "created_at").is_empty());

    let (status, body) = upload(
        &stack,
        &query,
        &token,
        Multipart::file("file", "chart.png", "image/png", &content),
    )
    .await;
    assert_eq!(status, 200, "same nonce answers 200: {body}");
    assert_eq!(body["upload"]["id"], id.as_str());

    let (status, body) = get(
        &stack,
        &format!("/api/uploads/by-nonce?workspace_id={ws}&nonce=upload-nonce-1"),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["upload"]["id"], id.as_str());
    let (status, body, headers) = call(
        &stack,
        Method::GET,
        &format!("/api/uploads/by-nonce?workspace_id={ws}&nonce=never-used"),
        &token,
        None,
    )
    .await;
    assert_error(status, &body, 404, "unknown upload nonce");
    assert_eq!(
        headers
            .get("x-clickclack-upload-nonce")
            .and_then(|v| v.to_str().ok()),
        Some("supported"),
        "{headers:?}"
    );

    // Download: exact bytes, for readers too.
    let response = stack
        .api()
        .download(&format!("/api/uploads/{id}"), Some(&reader))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.headers["content-type"].to_str().unwrap(),
        "image/png"
    );
    let downloaded = response.bytes;
    assert_eq!(downloaded.as_slice(), content.as_slice(), "exact bytes");
    let (status, body) = get(&stack, "/api/uploads/upl_doesnotexist0000000000", &token).await;
    assert_error(status, &body, 404, "downloading an unknown upload");

    // Client mistakes.
    let (status, body) = upload(
        &stack,
        &format!("workspace_id={ws}"),
        &token,
        Multipart::file("attachment", "a.txt", "text/plain", b"wrong field"),
    )
    .await;
    assert_error(status, &body, 400, "multipart without a `file` field");
    let too_big = file_bytes(TEST_UPLOAD_MAX_BYTES as usize + 1);
    let (status, body) = upload(
        &stack,
        &format!("workspace_id={ws}"),
        &token,
        Multipart::file("file", "big.bin", "application/octet-stream", &too_big),
    )
    .await;
    assert_error(status, &body, 413, "upload over the limit");
    let (status, body) = upload(
        &stack,
        &format!("workspace_id={ws}"),
        &reader,
        Multipart::file("file", "a.txt", "text/plain", b"hi"),
    )
    .await;
    assert_forbidden(status, &body, "uploading without uploads:write");
    let (_, no_scope) = stack.service_bot(ws, "profiler", "profile:read").await;
    let (status, body) = get(&stack, &format!("/api/uploads/{id}"), &no_scope).await;
    assert_forbidden(status, &body, "downloading without messages:read");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_attach_to_messages_and_unknown_uploads_get_404() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "uploader", "bot:write").await;
    let (_, no_uploads) = stack
        .service_bot(ws, "nouploads", "messages:read,messages:write")
        .await;
    let (status, body) = upload(
        &stack,
        &format!("workspace_id={ws}"),
        &token,
        Multipart::file("file", "notes.txt", "text/plain", b"attached notes"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let upload_id = str_of(&body["upload"], "id").to_owned();
    let message = post_message(&stack, &boot.general.id, &token, "see attached").await;
    let id = str_of(&message, "id");
    let path = format!("/api/messages/{id}/attachments");

    let (status, body) = post(&stack, &path, &token, json!({"upload_id": upload_id})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["id"], id);
    let attached = array_of(&body["message"], "attachments");
    assert_eq!(ids(attached), vec![upload_id.as_str()], "{body}");
    assert_eq!(attached[0]["filename"], "notes.txt");

    let (_, fetched) = get(&stack, &format!("/api/messages/{id}"), &token).await;
    assert_eq!(
        ids(array_of(&fetched["message"], "attachments")),
        vec![upload_id.as_str()],
        "{fetched}"
    );

    let (status, body) = post(
        &stack,
        &path,
        &token,
        json!({"upload_id": "upl_doesnotexist0000000000"}),
    )
    .await;
    assert_error(status, &body, 404, "attaching an unknown upload");

    let own = post_message(&stack, &boot.general.id, &no_uploads, "mine").await;
    let (status, body) = post(
        &stack,
        &format!("/api/messages/{}/attachments", str_of(&own, "id")),
        &no_uploads,
        json!({"upload_id": upload_id}),
    )
    .await;
    assert_forbidden(status, &body, "attaching without uploads:write");
    stack.stop().await;
}

// ---------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_posted_words_but_not_deleted_messages_and_validates_its_query() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let channel = boot.general.id.as_str();
    let (_, token) = stack.service_bot(ws, "searcher", "bot:admin").await;
    let (_, no_scope) = stack.service_bot(ws, "profiler", "profile:read").await;
    let found = post_message(&stack, channel, &token, "the zephyrquartz launch is on").await;
    post_message(&stack, channel, &token, "unrelated chatter").await;
    let gone = post_message(&stack, channel, &token, "the obsidianflux plan").await;
    let (status, _) = delete(
        &stack,
        &format!("/api/messages/{}", str_of(&gone, "id")),
        &token,
    )
    .await;
    assert_eq!(status, 200);

    let (status, body) = get(
        &stack,
        &format!("/api/search?workspace_id={ws}&q=zephyrquartz"),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let results = array_of(&body, "results");
    assert_eq!(results.len(), 1, "{body}");
    assert_eq!(results[0]["message"]["id"], found["id"]);
    assert_eq!(results[0]["message"]["author"]["kind"], "bot");
    assert!(results[0]["rank"].is_number(), "{body}");
    assert!(results[0]["snippet"].is_string(), "{body}");
    assert!(
        body.get("next_cursor").is_none(),
        "one result: no next page: {body}"
    );

    let (status, body) = get(
        &stack,
        &format!("/api/search?workspace_id={ws}&q=obsidianflux"),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(array_of(&body, "results").len(), 0, "deleted: {body}");

    // channel_id narrows the search.
    let (status, created) = post(
        &stack,
        &format!("/api/workspaces/{ws}/channels"),
        &token,
        json!({"name": "elsewhere"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let elsewhere = str_of(&created["channel"], "id").to_owned();
    post_message(&stack, &elsewhere, &token, "zephyrquartz again").await;
    let (_, body) = get(
        &stack,
        &format!("/api/search?workspace_id={ws}&q=zephyrquartz"),
        &token,
    )
    .await;
    assert_eq!(array_of(&body, "results").len(), 2, "{body}");
    let (_, body) = get(
        &stack,
        &format!("/api/search?workspace_id={ws}&q=zephyrquartz&channel_id={elsewhere}"),
        &token,
    )
    .await;
    let results = array_of(&body, "results");
    assert_eq!(results.len(), 1, "{body}");
    assert_eq!(results[0]["message"]["channel_id"], elsewhere.as_str());
    let (status, body) = get(
        &stack,
        &format!("/api/search?workspace_id={ws}&q=zephyrquartz&limit=1"),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(array_of(&body, "results").len(), 1, "{body}");

    for bad in ["q=", "limit=5", "q=zephyrquartz&limit=101"] {
        let (status, body) = get(
            &stack,
            &format!("/api/search?workspace_id={ws}&{bad}"),
            &token,
        )
        .await;
        assert_error(status, &body, 400, &format!("search with {bad}"));
    }
    let (status, body) = get(
        &stack,
        &format!("/api/search?workspace_id={ws}&q=zephyrquartz"),
        &no_scope,
    )
    .await;
    assert_forbidden(status, &body, "searching without messages:read");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_shows_dm_messages_only_to_conversation_members() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, token) = stack.service_bot(ws, "sender", "bot:write").await;
    let (member, member_token) = stack.service_bot(ws, "member", "bot:read").await;
    let (_, outsider) = stack.service_bot(ws, "outsider", "bot:read").await;
    let (status, body) = post(
        &stack,
        "/api/dms",
        &token,
        json!({"workspace_id": ws, "member_ids": [member.id]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let dm = str_of(&body["conversation"], "id").to_owned();
    let (status, body) = post(
        &stack,
        &format!("/api/dms/{dm}/messages"),
        &token,
        json!({"body": "the secret word is marmalade"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let dm_message = body["message"]["id"].clone();

    let search = format!("/api/search?workspace_id={ws}&q=marmalade");
    for (who, reader) in [("sender", &token), ("member", &member_token)] {
        let (status, body) = get(&stack, &search, reader).await;
        assert_eq!(status, 200, "{who}: {body}");
        let results = array_of(&body, "results");
        assert_eq!(results.len(), 1, "{who}: {body}");
        assert_eq!(results[0]["message"]["id"], dm_message);
        assert_eq!(results[0]["message"]["direct_conversation_id"], dm.as_str());
    }
    let (status, body) = get(&stack, &search, &outsider).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        array_of(&body, "results").len(),
        0,
        "non-members never find DM messages: {body}"
    );
    assert!(!body.to_string().contains("marmalade"), "{body}");
    stack.stop().await;
}
