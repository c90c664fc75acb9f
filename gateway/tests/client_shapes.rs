//! Shapes the real clients rely on (API.md §0, §3, §4, §6-§8, §10): OpenClaw's
//! managed channels, read receipts, quotes, command rows, the audit log,
//! event details and DMs opened by handle. Every answer also goes through
//! the testkit client, which refuses a `null` anywhere inside it.

use clickclack_testkit::TestStack;
use clickclack_testkit::ws::open_live_socket;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

/// Reads frames until an event of `kind` arrives (3 s at most).
async fn next_event(socket: &mut clickclack_testkit::ws::Socket, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event within 3 s"))
            .expect("socket open")
            .expect("frame");
        if let Ok(text) = frame.into_text() {
            let event: Value = serde_json::from_str(&text).expect("event JSON");
            if event["type"] == kind {
                return event;
            }
        }
    }
}

#[tokio::test]
async fn managed_channels_store_echo_and_update_their_external_fields() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("managed").await;
    let (_, token) = stack
        .service_bot(&boot.workspace.id, "openclaw", "bot:admin")
        .await;
    let api = stack.api();
    let ws = &boot.workspace.id;

    // Listing plain channels: unset optional fields are absent, not null.
    let listed = api
        .get(&format!("/api/workspaces/{ws}/channels"), Some(&token))
        .await
        .expect(200, "list");
    let general = &listed["channels"][0];
    assert_eq!(general["external_managed"], false);
    for absent in [
        "external_ref",
        "external_url",
        "sidebar_section",
        "archived_at",
    ] {
        assert!(
            general.get(absent).is_none(),
            "{absent} must be omitted: {general}"
        );
    }

    let sent = json!({
        "name": "Discussion: Q3 plan",
        "display_title": "Q3 plan",
        "external_managed": true,
        "external_ref": "openclaw:thread:42",
        "external_url": "https://openclaw.example/t/42",
        "sidebar_section": "Discussions",
    });
    let created = api
        .post(
            &format!("/api/workspaces/{ws}/channels"),
            Some(&token),
            sent.clone(),
        )
        .await
        .expect(201, "create managed");
    let channel = &created["channel"];
    assert_eq!(channel["name"], "discussion-q3-plan");
    for key in [
        "display_title",
        "external_managed",
        "external_ref",
        "external_url",
        "sidebar_section",
    ] {
        assert_eq!(
            channel[key], sent[key],
            "{key} applied on create: {channel}"
        );
    }
    let id = channel["id"].as_str().unwrap().to_owned();

    // The list shows what was stored.
    let listed = api
        .get(&format!("/api/workspaces/{ws}/channels"), Some(&token))
        .await
        .expect(200, "list again");
    let stored = listed["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .expect("listed")
        .clone();
    assert_eq!(stored["external_ref"], "openclaw:thread:42");
    assert_eq!(stored["external_managed"], true);

    // PATCH applies every field; null clears a label; absent keeps it.
    let patched = api
        .patch(
            &format!("/api/channels/{id}"),
            Some(&token),
            json!({
                "display_title": "Q3 plan (final)",
                "external_ref": "openclaw:thread:43",
                "external_url": "https://openclaw.example/t/43",
                "sidebar_section": null,
                "external_managed": false,
            }),
        )
        .await
        .expect(200, "patch managed");
    let channel = &patched["channel"];
    assert_eq!(channel["display_title"], "Q3 plan (final)");
    assert_eq!(channel["external_ref"], "openclaw:thread:43");
    assert_eq!(channel["external_url"], "https://openclaw.example/t/43");
    assert_eq!(channel["external_managed"], false);
    assert!(
        channel.get("sidebar_section").is_none(),
        "cleared: {channel}"
    );

    // Bad values are refused with a reason.
    let bad = api
        .patch(
            &format!("/api/channels/{id}"),
            Some(&token),
            json!({ "external_url": "javascript:alert(1)" }),
        )
        .await
        .expect_error(400, "a non-http url");
    assert!(bad.contains("external_url"), "{bad}");
    api.post(
        &format!("/api/workspaces/{ws}/channels"),
        Some(&token),
        json!({ "name": "long", "external_ref": "x".repeat(201) }),
    )
    .await
    .expect_error(400, "an over-long external_ref");
}

#[tokio::test]
async fn receipts_quotes_and_turn_ids_have_the_sdk_shapes() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("shapes").await;
    let ws = &boot.workspace.id;
    let (bot, token) = stack.service_bot(ws, "quoter", "bot:write").await;
    let api = stack.api();
    let general = &boot.general.id;

    let first = api
        .post(
            &format!("/api/channels/{general}/messages"),
            Some(&token),
            json!({ "body": "the original words" }),
        )
        .await
        .expect(201, "post");
    let original_id = first["message"]["id"].as_str().unwrap().to_owned();

    // A quote carries a snapshot of the quoted body and its author.
    let quoting = api
        .post(
            &format!("/api/channels/{general}/messages"),
            Some(&token),
            json!({ "body": "quoting it", "quoted_message_id": original_id }),
        )
        .await
        .expect(201, "quote");
    let message = &quoting["message"];
    assert_eq!(message["quoted_message_id"], original_id.as_str());
    assert_eq!(message["quoted_body_snapshot"], "the original words");
    assert_eq!(message["quoted_author_id"], bot.id.as_str());
    assert_eq!(message["quoted_author"]["id"], bot.id.as_str());
    assert_eq!(message["quoted_author"]["kind"], "bot");

    // The snapshot stays what was quoted after the original is edited.
    api.patch(
        &format!("/api/messages/{original_id}"),
        Some(&token),
        json!({ "body": "edited words" }),
    )
    .await
    .expect(200, "edit original");
    let quote_id = message["id"].as_str().unwrap();
    let fetched = api
        .get(&format!("/api/messages/{quote_id}"), Some(&token))
        .await
        .expect(200, "get quote");
    assert_eq!(
        fetched["message"]["quoted_body_snapshot"],
        "the original words"
    );
    let plain = api
        .get(&format!("/api/messages/{original_id}"), Some(&token))
        .await
        .expect(200, "get plain");
    assert!(plain["message"].get("quoted_author").is_none(), "{plain}");

    // Read receipts: {receipt: {scope_id, user_id, last_read_seq, last_read_at}}.
    let receipt = api
        .post(
            &format!("/api/channels/{general}/read"),
            Some(&token),
            json!({ "seq": 1 }),
        )
        .await
        .expect(200, "read");
    let receipt = &receipt["receipt"];
    assert_eq!(receipt["scope_id"], general.as_str());
    assert_eq!(receipt["user_id"], bot.id.as_str());
    assert_eq!(receipt["last_read_seq"], 1);
    assert!(
        receipt["last_read_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    // turn_id is only for agent activity.
    let refused = api
        .post(
            &format!("/api/channels/{general}/messages"),
            Some(&token),
            json!({ "body": "hi", "turn_id": "turn-1" }),
        )
        .await
        .expect_error(400, "turn_id on a plain message");
    assert!(refused.contains("turn_id"), "{refused}");
}

#[tokio::test]
async fn dm_receipts_and_dms_opened_by_handle() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("handles").await;
    let ws = &boot.workspace.id;
    let (bot, token) = stack.service_bot(ws, "greeter", "bot:write").await;
    let friend = stack.add_human(ws, "friend").await;
    let api = stack.api();

    // By handle (with and without @) it is the same conversation as by id.
    let by_id = api
        .post(
            "/api/dms",
            Some(&token),
            json!({ "workspace_id": ws, "member_ids": [friend.id] }),
        )
        .await
        .expect(201, "open by id");
    for handle in ["friend", "@Friend"] {
        let by_handle = api
            .post(
                "/api/dms",
                Some(&token),
                json!({ "workspace_id": ws, "member_ids": [handle] }),
            )
            .await
            .expect(201, "open by handle");
        assert_eq!(by_handle["conversation"]["id"], by_id["conversation"]["id"]);
    }
    let unknown = api
        .post(
            "/api/dms",
            Some(&token),
            json!({ "workspace_id": ws, "member_ids": ["nobody-here"] }),
        )
        .await
        .expect_error(404, "unknown handle");
    assert!(
        unknown.contains("nobody-here"),
        "names the handle: {unknown}"
    );

    let dm = by_id["conversation"]["id"].as_str().unwrap();
    api.post(
        &format!("/api/dms/{dm}/messages"),
        Some(&token),
        json!({ "body": "hello" }),
    )
    .await
    .expect(201, "dm post");
    let receipt = api
        .post(
            &format!("/api/dms/{dm}/read"),
            Some(&token),
            json!({ "seq": 1 }),
        )
        .await
        .expect(200, "dm read");
    assert_eq!(receipt["receipt"]["scope_id"], dm);
    assert_eq!(receipt["receipt"]["user_id"], bot.id.as_str());
    assert_eq!(receipt["receipt"]["last_read_seq"], 1);
}

#[tokio::test]
async fn command_rows_and_the_audit_log_have_their_documented_shapes() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("menus").await;
    let ws = &boot.workspace.id;
    let (zed, zed_token) = stack.service_bot(ws, "zed", "bot:write").await;
    let (_, alpha_token) = stack.service_bot(ws, "alpha", "bot:write").await;
    let (_, owner_session) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let api = stack.api();

    let set = api
        .put(
            "/api/bots/self/commands",
            Some(&zed_token),
            json!({ "commands": [
                { "command": "Status", "description": "What runs" },
                { "command": "/deploy", "description": "Ship it", "args_hint": "<env>" },
            ]}),
        )
        .await
        .expect(200, "set zed's menu");
    let rows = set["bot_commands"].as_array().unwrap();
    let status = rows.iter().find(|r| r["command"] == "/status").unwrap();
    assert_eq!(
        status["args_hint"], "",
        "unset args_hint is an empty string"
    );
    assert!(
        status["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("bcm_"))
    );
    assert_eq!(status["workspace_id"], ws.as_str());
    assert_eq!(status["bot_user_id"], zed.id.as_str());
    assert_eq!(status["bot"]["id"], zed.id.as_str());
    assert_eq!(status["bot"]["handle"], "zed");
    assert_eq!(status["bot"]["display_name"], "Bot zed");
    assert!(status["bot"]["avatar_url"].is_string());
    assert!(status["created_at"].is_string() && status["updated_at"].is_string());
    let status_id = status["id"].clone();
    let status_created = status["created_at"].clone();

    api.put(
        "/api/bots/self/commands",
        Some(&alpha_token),
        json!({ "commands": [{ "command": "help", "description": "Help" }] }),
    )
    .await
    .expect(200, "set alpha's menu");
    // Republishing keeps a command's id and creation time.
    api.put(
        "/api/bots/self/commands",
        Some(&zed_token),
        json!({ "commands": [
            { "command": "status", "description": "What runs now" },
            { "command": "deploy", "description": "Ship it", "args_hint": "<env>" },
        ]}),
    )
    .await
    .expect(200, "republish");

    let listed = api
        .get(
            &format!("/api/workspaces/{ws}/bot-commands"),
            Some(&owner_session),
        )
        .await
        .expect(200, "list menus");
    let order: Vec<(String, String)> = listed["bot_commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["bot"]["handle"].as_str().unwrap().to_owned(),
                r["command"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [("alpha", "/help"), ("zed", "/deploy"), ("zed", "/status")]
            .map(|(a, b)| (a.to_owned(), b.to_owned())),
        "sorted by bot handle, then command"
    );
    let status = listed["bot_commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["command"] == "/status")
        .unwrap();
    assert_eq!(status["id"], status_id);
    assert_eq!(status["created_at"], status_created);
    assert_eq!(status["description"], "What runs now");

    let log = api
        .get(
            &format!("/api/workspaces/{ws}/audit-log"),
            Some(&owner_session),
        )
        .await
        .expect(200, "audit log");
    let entries = log["audit_log_entries"]
        .as_array()
        .expect("audit_log_entries");
    assert!(
        entries.iter().any(|e| e["action"] == "bot.created"),
        "{log}"
    );
}

#[tokio::test]
async fn events_carry_targets_seqs_and_agent_kinds() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("details").await;
    let ws = &boot.workspace.id;
    let (_, token) = stack
        .service_bot(ws, "agent", "bot:write,agent_activity:write")
        .await;
    let (_, watcher) = stack.service_bot(ws, "watcher", "bot:read").await;
    let api = stack.api();
    let general = boot.general.id.as_str();
    let mut socket = open_live_socket(&stack.http_url, ws, &watcher).await;

    // Typing carries its target in the payload.
    api.post(
        "/api/realtime/ephemeral",
        Some(&token),
        json!({ "workspace_id": ws, "channel_id": general, "type": "typing.started" }),
    )
    .await
    .expect(202, "typing");
    let typing = next_event(&mut socket, "typing.started").await;
    assert_eq!(typing["payload"]["channel_id"], general);

    // Agent commentary says what it is in message.created.
    let posted = api
        .post(
            &format!("/api/channels/{general}/messages"),
            Some(&token),
            json!({ "body": "thinking…", "kind": "agent_commentary", "turn_id": "turn-7" }),
        )
        .await
        .expect(201, "agent post");
    let created = next_event(&mut socket, "message.created").await;
    assert_eq!(created["payload"]["kind"], "agent_commentary");
    assert_eq!(created["payload"]["turn_id"], "turn-7");

    // A plain message has neither.
    api.post(
        &format!("/api/channels/{general}/messages"),
        Some(&token),
        json!({ "body": "plain" }),
    )
    .await
    .expect(201, "plain post");
    let plain = next_event(&mut socket, "message.created").await;
    assert!(plain["payload"].get("kind").is_none(), "{plain}");
    assert!(plain["payload"].get("turn_id").is_none(), "{plain}");

    // Reactions carry the message's channel_seq at the top level.
    let message_id = posted["message"]["id"].as_str().unwrap();
    let seq = posted["message"]["channel_seq"].clone();
    api.post(
        &format!("/api/messages/{message_id}/reactions"),
        Some(&token),
        json!({ "emoji": "👍" }),
    )
    .await
    .expect(201, "react");
    let added = next_event(&mut socket, "reaction.added").await;
    assert_eq!(added["seq"], seq);
    api.delete(
        &format!("/api/messages/{message_id}/reactions/%F0%9F%91%8D"),
        Some(&token),
    )
    .await
    .expect(200, "unreact");
    let removed = next_event(&mut socket, "reaction.removed").await;
    assert_eq!(removed["seq"], seq);
}

#[tokio::test]
async fn empty_pages_leave_out_their_bounds_instead_of_null() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("empty").await;
    let (_, token) = stack
        .service_bot(&boot.workspace.id, "lister", "bot:write")
        .await;
    let api = stack.api();
    // The testkit client fails on any null, so these calls are the check.
    let empty = api
        .get(
            &format!("/api/channels/{}/messages", boot.general.id),
            Some(&token),
        )
        .await
        .expect(200, "an empty channel's page");
    assert_eq!(empty["messages"], json!([]));
    assert!(empty.get("oldest_seq").is_none() && empty.get("newest_seq").is_none());

    let root = api
        .post(
            &format!("/api/channels/{}/messages", boot.general.id),
            Some(&token),
            json!({ "body": "a root without replies" }),
        )
        .await
        .expect(201, "post");
    let root_id = root["message"]["id"].as_str().unwrap();
    let thread = api
        .get(&format!("/api/messages/{root_id}/thread"), Some(&token))
        .await
        .expect(200, "a thread without replies");
    assert_eq!(thread["replies"], json!([]));
    assert!(thread.get("newest_seq").is_none());

    let page = api
        .get(
            &format!("/api/channels/{}/messages", boot.general.id),
            Some(&token),
        )
        .await
        .expect(200, "a page with one message");
    assert_eq!(page["oldest_seq"], page["newest_seq"]);
    assert!(page["newest_seq"].is_i64());
    stack.stop().await;
}
