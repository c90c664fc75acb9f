//! Cross-workspace isolation and DM privacy for every messaging route
//! (API.md §0, §3-§7, §9), over real HTTP.
//!
//! A token of one workspace must never read, change or even confirm the
//! existence of another workspace's channels, messages, threads, reactions,
//! DMs or uploads: resource ids of another workspace answer 404 (as if they
//! did not exist), a `workspace_id` naming another workspace answers 403, and
//! no error body carries the other workspace's data.

use clickclack_testkit::http::{Method, Multipart};
use clickclack_testkit::{Answer, Api, TestStack};
use serde_json::{Value, json};

/// Strings that belong to the victim and must never appear in a response to
/// the intruder, each with a label for failure messages.
struct Secrets(Vec<(&'static str, String)>);

impl Secrets {
    /// Asserts an intruder's answer: one of `expected` statuses, a JSON
    /// `{"error": "<text>"}` body, and none of the secrets in the body or the
    /// headers, except those the intruder itself sent in the request.
    /// (`Api` has already checked that the body is JSON.)
    fn assert_refused(&self, route: &str, request: &str, reply: &Answer, expected: &[u16]) {
        assert!(
            expected.contains(&reply.status),
            "{route}: expected one of {expected:?}, got {}: {}",
            reply.status,
            reply.text
        );
        assert!(
            reply.body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{route}: error body must be {{\"error\": \"...\"}}: {}",
            reply.body
        );
        self.assert_no_leak(route, request, reply);
    }

    /// Checks the raw body text as sent, not the parsed JSON.
    fn assert_no_leak(&self, route: &str, request: &str, reply: &Answer) {
        for (label, secret) in &self.0 {
            if request.contains(secret.as_str()) {
                continue; // The caller sent it; echoing it back leaks nothing.
            }
            assert!(
                !reply.text.contains(secret.as_str()),
                "{route}: response body leaks {label} ({secret}): {}",
                reply.text
            );
            for (name, value) in &reply.headers {
                let value = String::from_utf8_lossy(value.as_bytes());
                assert!(
                    !value.contains(secret.as_str()),
                    "{route}: header {name} leaks {label} ({secret}): {value}"
                );
            }
        }
    }
}

/// One intruder request and the statuses it may get.
struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
    expect: &'static [u16],
}

fn case(
    method: Method,
    path: impl Into<String>,
    body: Option<Value>,
    expect: &'static [u16],
) -> Case {
    Case {
        method,
        path: path.into(),
        body,
        expect,
    }
}

const NOT_FOUND: &[u16] = &[404];
const FORBIDDEN: &[u16] = &[403];

/// Runs every case with `token` and checks each refusal.
async fn run_cases(api: &Api, who: &str, token: &str, cases: &[Case], secrets: &Secrets) {
    for case in cases {
        let route = format!("[{who}] {} {}", case.method, case.path);
        let request = format!(
            "{} {}",
            case.path,
            case.body.as_ref().map(Value::to_string).unwrap_or_default()
        );
        let reply = api
            .call(
                case.method.clone(),
                &case.path,
                Some(token),
                case.body.as_ref(),
            )
            .await;
        secrets.assert_refused(&route, &request, &reply, case.expect);
    }
}

/// Everything a reader of workspace A can see about A's resources, to compare
/// before and after the intrusion attempts.
async fn snapshot(
    api: &Api,
    token: &str,
    paths: &[String],
    upload_id: &str,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in paths {
        let body = api
            .get(path, Some(token))
            .await
            .expect(200, &format!("GET {path}"));
        out.push((path.clone(), body.to_string()));
    }
    // The file itself is not JSON: a download, compared as text.
    let path = format!("/api/uploads/{upload_id}");
    let file = api
        .download(&path, Some(token))
        .await
        .expect(200, "download");
    out.push((path, String::from_utf8_lossy(&file).into_owned()));
    out
}

fn search_ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("search results: {body}"))
        .iter()
        .map(|hit| hit["message"]["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn id(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_workspace_cannot_see_or_touch_anything() {
    let stack = TestStack::start().await;
    let api = stack.api();
    let a = stack.bootstrap("alpha").await;
    let b = stack.bootstrap("beta").await;
    let wa = a.workspace.id.clone();
    let wb = b.workspace.id.clone();
    let (a_bot, a_tok) = stack.service_bot(&wa, "alphabot", "bot:admin").await;
    let human = stack.add_human(&wa, "mia").await;
    let (_, b_tok) = stack.service_bot(&wb, "betabot", "bot:admin").await;
    let (_, b_agent_tok) = stack
        .service_bot(&wb, "betaagent", "bot:admin,agent_activity:write")
        .await;

    // --- Workspace A's resources -------------------------------------------
    let a_channel_name = "alpha-hidden-room";
    let created = api
        .post(
            &format!("/api/workspaces/{wa}/channels"),
            Some(&a_tok),
            json!({ "name": a_channel_name }),
        )
        .await
        .expect_success(&format!("POST /api/workspaces/{wa}/channels"));
    let a_chan = id(&created["channel"]);

    let secret_word = "pineapplequokka";
    let a_body = format!("alpha launch plans {secret_word} tuesday");
    let a_nonce = "alpha-msg-nonce-5b2c";
    let posted = api
        .post(
            &format!("/api/channels/{a_chan}/messages"),
            Some(&a_tok),
            json!({ "body": a_body, "nonce": a_nonce }),
        )
        .await
        .expect_success(&format!("POST /api/channels/{a_chan}/messages"));
    let a_msg = id(&posted["message"]);

    let reply_word = "kumquatwhisper";
    let a_reply_body = format!("alpha thread reply {reply_word}");
    let replied = api
        .post(
            &format!("/api/messages/{a_msg}/thread/replies"),
            Some(&a_tok),
            json!({ "body": a_reply_body, "nonce": "alpha-reply-nonce-77" }),
        )
        .await
        .expect_success(&format!("POST /api/messages/{a_msg}/thread/replies"));
    let a_reply = id(&replied["message"]);

    api.post(
        &format!("/api/messages/{a_msg}/reactions"),
        Some(&a_tok),
        json!({ "emoji": "tada" }),
    )
    .await
    .expect_success(&format!("POST /api/messages/{a_msg}/reactions"));

    let opened = api
        .post(
            "/api/dms",
            Some(&a_tok),
            json!({ "workspace_id": wa, "member_ids": [human.id] }),
        )
        .await
        .expect_success("POST /api/dms");
    let a_dm = id(&opened["conversation"]);
    let dm_word = "mangosteenriddle";
    let a_dm_body = format!("alpha private dm {dm_word}");
    let dm_posted = api
        .post(
            &format!("/api/dms/{a_dm}/messages"),
            Some(&a_tok),
            json!({ "body": a_dm_body, "nonce": "alpha-dm-nonce-31" }),
        )
        .await
        .expect_success(&format!("POST /api/dms/{a_dm}/messages"));
    let a_dm_msg = id(&dm_posted["message"]);

    let upload_nonce = "alpha-upload-nonce-9f";
    let upload_name = "alpha-secret-blueprint.txt";
    let upload_content = "alpha upload content durianlighthouse";
    let uploaded = api
        .upload(
            &format!("/api/uploads?workspace_id={wa}&nonce={upload_nonce}"),
            Some(&a_tok),
            Multipart::file("file", upload_name, "text/plain", upload_content.as_bytes()),
        )
        .await
        .expect(201, "A's upload");
    let a_upload = id(&uploaded["upload"]);
    let attached = api
        .post(
            &format!("/api/messages/{a_msg}/attachments"),
            Some(&a_tok),
            json!({ "upload_id": a_upload }),
        )
        .await
        .expect_success(&format!("POST /api/messages/{a_msg}/attachments"));
    assert_eq!(
        attached["message"]["attachments"].as_array().map(Vec::len),
        Some(1),
        "{attached}"
    );

    // --- Workspace B's own resources (for the cross-attach checks) ---------
    let b_posted = api
        .post(
            &format!("/api/channels/{}/messages", b.general.id),
            Some(&b_tok),
            json!({ "body": "beta's own message" }),
        )
        .await
        .expect_success(&format!("POST /api/channels/{}/messages", b.general.id));
    let b_msg = id(&b_posted["message"]);
    let b_agent_posted = api
        .post(
            &format!("/api/channels/{}/messages", b.general.id),
            Some(&b_agent_tok),
            json!({ "body": "beta agent's own message" }),
        )
        .await
        .expect_success(&format!("POST /api/channels/{}/messages", b.general.id));
    let b_agent_msg = id(&b_agent_posted["message"]);
    let b_uploaded = api
        .upload(
            &format!("/api/uploads?workspace_id={wb}&nonce=beta-upload-nonce"),
            Some(&b_tok),
            Multipart::file("file", "beta.txt", "text/plain", b"beta content"),
        )
        .await
        .expect(201, "B's upload");
    let b_upload = id(&b_uploaded["upload"]);

    // Positive control: A can find its own words, so B's empty results below
    // mean isolation rather than a broken search.
    let found = api
        .get(
            &format!("/api/search?workspace_id={wa}&q={secret_word}"),
            Some(&a_tok),
        )
        .await
        .expect_success(&format!(
            "GET /api/search?workspace_id={wa}&q={secret_word}"
        ));
    assert!(
        search_ids(&found).contains(&a_msg),
        "A finds its message: {found}"
    );

    // --- What A looks like before the intrusion ----------------------------
    let watched = [
        format!("/api/workspaces/{wa}/channels"),
        format!("/api/channels/{a_chan}/messages"),
        format!("/api/channels/{}/messages", a.general.id),
        format!("/api/messages/{a_msg}"),
        format!("/api/messages/{a_reply}"),
        format!("/api/messages/{a_msg}/thread"),
        format!("/api/dms?workspace_id={wa}"),
        format!("/api/dms/{a_dm}"),
        format!("/api/dms/{a_dm}/messages"),
        format!("/api/messages/{a_dm_msg}"),
    ];
    let before = snapshot(&api, &a_tok, &watched, &a_upload).await;

    let secrets = Secrets(vec![
        ("A's workspace id", wa.clone()),
        ("A's workspace name", a.workspace.name.clone()),
        ("A's owner id", a.owner.id.clone()),
        ("A's bot id", a_bot.id.clone()),
        ("A's human id", human.id.clone()),
        ("A's general channel id", a.general.id.clone()),
        ("A's channel id", a_chan.clone()),
        ("A's channel name", a_channel_name.to_owned()),
        ("A's message id", a_msg.clone()),
        ("A's message body", secret_word.to_owned()),
        ("A's message nonce", a_nonce.to_owned()),
        ("A's reply id", a_reply.clone()),
        ("A's reply body", reply_word.to_owned()),
        ("A's DM id", a_dm.clone()),
        ("A's DM message id", a_dm_msg.clone()),
        ("A's DM body", dm_word.to_owned()),
        ("A's upload id", a_upload.clone()),
        ("A's upload name", upload_name.to_owned()),
        ("A's upload content", "durianlighthouse".to_owned()),
        ("A's upload nonce", upload_nonce.to_owned()),
    ]);

    // --- Every route, with B's tokens --------------------------------------
    let mut cases = vec![
        // Channels (§3).
        case(
            Method::GET,
            format!("/api/workspaces/{wa}/channels"),
            None,
            FORBIDDEN,
        ),
        case(
            Method::POST,
            format!("/api/workspaces/{wa}/channels"),
            Some(json!({ "name": "beta-intrusion" })),
            FORBIDDEN,
        ),
        case(
            Method::PATCH,
            format!("/api/channels/{a_chan}"),
            Some(json!({ "name": "hijacked" })),
            NOT_FOUND,
        ),
        case(
            Method::PATCH,
            format!("/api/channels/{a_chan}"),
            Some(json!({ "archived": true })),
            NOT_FOUND,
        ),
        case(
            Method::PATCH,
            format!("/api/channels/{}", a.general.id),
            Some(json!({ "kind": "private" })),
            NOT_FOUND,
        ),
        // Channel messages (§4).
        case(
            Method::GET,
            format!("/api/channels/{a_chan}/messages"),
            None,
            NOT_FOUND,
        ),
        case(
            Method::GET,
            format!("/api/channels/{a_chan}/messages?after_seq=0&limit=10"),
            None,
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/channels/{a_chan}/messages"),
            Some(json!({ "body": "intrusion" })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/channels/{a_chan}/messages"),
            Some(json!({ "body": "intrusion replay", "nonce": a_nonce })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/channels/{a_chan}/read"),
            Some(json!({ "seq": 1 })),
            NOT_FOUND,
        ),
        case(
            Method::GET,
            format!("/api/messages/by-nonce?workspace_id={wa}&nonce={a_nonce}"),
            None,
            FORBIDDEN,
        ),
        case(
            Method::GET,
            format!("/api/messages/by-nonce?workspace_id={wb}&nonce={a_nonce}"),
            None,
            NOT_FOUND,
        ),
        // Threads (§5).
        case(
            Method::POST,
            format!("/api/messages/{a_msg}/thread/replies"),
            Some(json!({ "body": "intruding reply" })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/messages/{a_reply}/thread/replies"),
            Some(json!({ "body": "intruding reply to a reply" })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/messages/{a_dm_msg}/thread/replies"),
            Some(json!({ "body": "intruding dm reply" })),
            NOT_FOUND,
        ),
        // Reactions (§7).
        case(
            Method::POST,
            format!("/api/messages/{a_msg}/reactions"),
            Some(json!({ "emoji": "tada" })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/messages/{a_msg}/reactions"),
            Some(json!({ "emoji": "skull" })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/messages/{a_dm_msg}/reactions"),
            Some(json!({ "emoji": "skull" })),
            NOT_FOUND,
        ),
        case(
            Method::DELETE,
            format!("/api/messages/{a_msg}/reactions/tada"),
            None,
            NOT_FOUND,
        ),
        // Attachments (§7).
        case(
            Method::POST,
            format!("/api/messages/{a_msg}/attachments"),
            Some(json!({ "upload_id": a_upload })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/messages/{a_msg}/attachments"),
            Some(json!({ "upload_id": b_upload })),
            NOT_FOUND,
        ),
        // DMs (§6).
        case(
            Method::POST,
            "/api/dms",
            Some(json!({ "workspace_id": wa, "member_ids": [human.id] })),
            &[400, 403],
        ),
        case(
            Method::POST,
            "/api/dms",
            Some(json!({ "workspace_id": wb, "member_ids": [human.id] })),
            &[400, 403],
        ),
        case(
            Method::POST,
            "/api/dms",
            Some(json!({ "workspace_id": wb, "member_ids": [a_bot.id] })),
            &[400, 403],
        ),
        case(
            Method::GET,
            format!("/api/dms?workspace_id={wa}"),
            None,
            FORBIDDEN,
        ),
        case(Method::GET, format!("/api/dms/{a_dm}"), None, NOT_FOUND),
        case(
            Method::GET,
            format!("/api/dms/{a_dm}/messages"),
            None,
            NOT_FOUND,
        ),
        case(
            Method::GET,
            format!("/api/dms/{a_dm}/messages?after_seq=0&limit=10"),
            None,
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/dms/{a_dm}/messages"),
            Some(json!({ "body": "intruding dm" })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/dms/{a_dm}/read"),
            Some(json!({ "seq": 1 })),
            NOT_FOUND,
        ),
        // Uploads (§7).
        case(
            Method::GET,
            format!("/api/uploads/by-nonce?workspace_id={wa}&nonce={upload_nonce}"),
            None,
            FORBIDDEN,
        ),
        case(
            Method::GET,
            format!("/api/uploads/by-nonce?workspace_id={wb}&nonce={upload_nonce}"),
            None,
            NOT_FOUND,
        ),
        case(
            Method::GET,
            format!("/api/uploads/{a_upload}"),
            None,
            NOT_FOUND,
        ),
        // Quoting A's messages from B's own channel and thread.
        case(
            Method::POST,
            format!("/api/channels/{}/messages", b.general.id),
            Some(json!({ "body": "quoting A", "quoted_message_id": a_msg })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/channels/{}/messages", b.general.id),
            Some(json!({ "body": "quoting A's DM", "quoted_message_id": a_dm_msg })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/messages/{b_msg}/thread/replies"),
            Some(json!({ "body": "quoting A's reply", "quoted_message_id": a_reply })),
            NOT_FOUND,
        ),
        // Search (§7).
        case(
            Method::GET,
            format!("/api/search?workspace_id={wa}&q={secret_word}"),
            None,
            FORBIDDEN,
        ),
    ];
    // Reads, edits and deletes of each of A's messages (channel root, thread
    // reply, DM message).
    for message in [&a_msg, &a_reply, &a_dm_msg] {
        cases.push(case(
            Method::GET,
            format!("/api/messages/{message}"),
            None,
            NOT_FOUND,
        ));
        cases.push(case(
            Method::GET,
            format!("/api/messages/{message}/thread"),
            None,
            NOT_FOUND,
        ));
        cases.push(case(
            Method::GET,
            format!("/api/messages/{message}/thread?latest=true"),
            None,
            NOT_FOUND,
        ));
        cases.push(case(
            Method::PATCH,
            format!("/api/messages/{message}"),
            Some(json!({ "body": "hijacked body" })),
            NOT_FOUND,
        ));
        cases.push(case(
            Method::DELETE,
            format!("/api/messages/{message}"),
            None,
            NOT_FOUND,
        ));
    }
    run_cases(&api, "B bot:admin", &b_tok, &cases, &secrets).await;
    run_cases(&api, "B +agent_activity", &b_agent_tok, &cases, &secrets).await;

    // Each B bot attaching A's upload to its own (B) message.
    for (who, token, own) in [
        ("B bot:admin", &b_tok, &b_msg),
        ("B +agent_activity", &b_agent_tok, &b_agent_msg),
    ] {
        let own_cases = [case(
            Method::POST,
            format!("/api/messages/{own}/attachments"),
            Some(json!({ "upload_id": a_upload })),
            NOT_FOUND,
        )];
        run_cases(&api, who, token, &own_cases, &secrets).await;
    }

    // Agent-activity kinds (the second token may post them) change nothing.
    let agent_cases = [
        case(
            Method::POST,
            format!("/api/channels/{a_chan}/messages"),
            Some(json!({ "body": "agent intrusion", "kind": "agent_tool" })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/dms/{a_dm}/messages"),
            Some(json!({ "body": "agent dm intrusion", "kind": "agent_commentary" })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/messages/{a_msg}/thread/replies"),
            Some(json!({ "body": "agent reply", "kind": "agent_commentary" })),
            NOT_FOUND,
        ),
    ];
    run_cases(
        &api,
        "B +agent_activity",
        &b_agent_tok,
        &agent_cases,
        &secrets,
    )
    .await;

    // Uploading into A.
    for (who, token) in [("B bot:admin", &b_tok), ("B +agent_activity", &b_agent_tok)] {
        for query in [
            format!("workspace_id={wa}"),
            format!("workspace_id={wa}&nonce={upload_nonce}"),
        ] {
            let reply = api
                .upload(
                    &format!("/api/uploads?{query}"),
                    Some(token),
                    Multipart::file("file", "intrusion.txt", "text/plain", b"intrusion"),
                )
                .await;
            secrets.assert_refused(
                &format!("[{who}] POST /api/uploads?{query}"),
                &query,
                &reply,
                FORBIDDEN,
            );
        }
    }

    // The 404s of the by-nonce lookups still say the lookup is supported.
    let reply = api
        .get(
            &format!("/api/messages/by-nonce?workspace_id={wb}&nonce={a_nonce}"),
            Some(&b_tok),
        )
        .await;
    assert_eq!(
        reply
            .headers
            .get("x-clickclack-message-nonce")
            .map(|v| v.as_bytes()),
        Some(&b"supported"[..]),
        "message by-nonce 404 header"
    );
    let reply = api
        .get(
            &format!("/api/uploads/by-nonce?workspace_id={wb}&nonce={upload_nonce}"),
            Some(&b_tok),
        )
        .await;
    assert_eq!(
        reply
            .headers
            .get("x-clickclack-upload-nonce")
            .map(|v| v.as_bytes()),
        Some(&b"supported"[..]),
        "upload by-nonce 404 header"
    );

    // Searching B for A's words finds nothing, and leaks nothing.
    for token in [&b_tok, &b_agent_tok] {
        for word in [secret_word, reply_word, dm_word, "alpha"] {
            for path in [
                format!("/api/search?workspace_id={wb}&q={word}"),
                format!("/api/search?workspace_id={wb}&q={word}&channel_id={a_chan}"),
            ] {
                let reply = api.get(&path, Some(token)).await;
                if path.contains("channel_id") && reply.status == 404 {
                    secrets.assert_refused(&path, &path, &reply, NOT_FOUND);
                    continue;
                }
                assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
                let body = &reply.body;
                assert_eq!(
                    body["results"].as_array().map(Vec::len),
                    Some(0),
                    "GET {path} finds A's messages: {body}"
                );
                secrets.assert_no_leak(&format!("GET {path}"), &path, &reply);
            }
        }
    }

    // B's channel got no quoting messages; B's thread got no reply.
    let b_listing = api
        .get(
            &format!("/api/channels/{}/messages", b.general.id),
            Some(&b_tok),
        )
        .await
        .expect_success(&format!("GET /api/channels/{}/messages", b.general.id));
    let b_ids: Vec<String> = b_listing["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(id)
        .collect();
    assert_eq!(
        b_ids,
        vec![b_msg.clone(), b_agent_msg.clone()],
        "{b_listing}"
    );
    assert_eq!(
        b_listing["messages"][0]["thread_state"]["reply_count"]
            .as_i64()
            .unwrap_or(0),
        0,
        "{b_listing}"
    );

    // B's own messages did not get A's upload.
    for own in [&b_msg, &b_agent_msg] {
        let b_view = api
            .get(&format!("/api/messages/{own}"), Some(&b_tok))
            .await
            .expect_success(&format!("GET /api/messages/{own}"));
        assert_eq!(
            b_view["message"]["attachments"].as_array().map(Vec::len),
            Some(0),
            "{b_view}"
        );
    }
    // B has no DM with A's human and no new channel in A.
    let b_dms = api
        .get(&format!("/api/dms?workspace_id={wb}"), Some(&b_tok))
        .await
        .expect_success(&format!("GET /api/dms?workspace_id={wb}"));
    assert_eq!(
        b_dms["conversations"].as_array().map(Vec::len),
        Some(0),
        "{b_dms}"
    );

    // --- Nothing changed in A ---------------------------------------------
    let after = snapshot(&api, &a_tok, &watched, &a_upload).await;
    for ((path, old), (_, new)) in before.iter().zip(&after) {
        assert_eq!(old, new, "GET {path} changed after B's attempts");
    }
    let listing = api
        .get(&format!("/api/workspaces/{wa}/channels"), Some(&a_tok))
        .await
        .expect_success(&format!("GET /api/workspaces/{wa}/channels"));
    let channels = listing["channels"].as_array().expect("channels");
    assert_eq!(channels.len(), 2, "{listing}");
    let room = channels
        .iter()
        .find(|c| c["id"] == a_chan.as_str())
        .expect("A's channel is listed");
    assert_eq!(room["name"], a_channel_name);
    assert_eq!(room["last_seq"], 1);
    assert!(room["archived_at"].is_null(), "{room}");
    assert_eq!(room["kind"], "public");

    let message = api
        .get(&format!("/api/messages/{a_msg}"), Some(&a_tok))
        .await
        .expect_success(&format!("GET /api/messages/{a_msg}"));
    let message = &message["message"];
    assert_eq!(message["body"], a_body.as_str());
    assert!(
        message["edited_at"].is_null() && message["deleted_at"].is_null(),
        "{message}"
    );
    assert_eq!(
        message["reactions"],
        json!([{ "emoji": "tada", "count": 1, "reacted_by_me": true }])
    );
    assert_eq!(message["attachments"].as_array().map(Vec::len), Some(1));
    assert_eq!(message["attachments"][0]["id"], a_upload.as_str());
    assert_eq!(message["thread_state"]["reply_count"], 1, "{message}");

    let thread = api
        .get(&format!("/api/messages/{a_msg}/thread"), Some(&a_tok))
        .await
        .expect_success(&format!("GET /api/messages/{a_msg}/thread"));
    let replies = thread["replies"].as_array().expect("replies");
    assert_eq!(replies.len(), 1, "{thread}");
    assert_eq!(replies[0]["body"], a_reply_body.as_str());

    let dm_messages = api
        .get(&format!("/api/dms/{a_dm}/messages"), Some(&a_tok))
        .await
        .expect_success(&format!("GET /api/dms/{a_dm}/messages"));
    let dm_messages = dm_messages["messages"].as_array().expect("messages");
    assert_eq!(dm_messages.len(), 1);
    assert_eq!(dm_messages[0]["body"], a_dm_body.as_str());
    let dms = api
        .get(&format!("/api/dms?workspace_id={wa}"), Some(&a_tok))
        .await
        .expect_success(&format!("GET /api/dms?workspace_id={wa}"));
    assert_eq!(
        dms["conversations"].as_array().map(Vec::len),
        Some(1),
        "{dms}"
    );

    let still_found = api
        .get(
            &format!("/api/search?workspace_id={wa}&q={secret_word}"),
            Some(&a_tok),
        )
        .await
        .expect_success(&format!(
            "GET /api/search?workspace_id={wa}&q={secret_word}"
        ));
    assert_eq!(
        search_ids(&still_found),
        vec![a_msg.clone()],
        "{still_found}"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_is_invisible_to_other_members_of_the_workspace() {
    let stack = TestStack::start().await;
    let api = stack.api();
    let boot = stack.bootstrap("gamma").await;
    let ws = boot.workspace.id.clone();
    let (x, x_tok) = stack.service_bot(&ws, "xavier", "bot:admin").await;
    let (_, y_tok) = stack.service_bot(&ws, "yvonne", "bot:admin").await;
    let human = stack.add_human(&ws, "hana").await;

    let opened = api
        .post(
            "/api/dms",
            Some(&x_tok),
            json!({ "workspace_id": ws, "member_ids": [human.id] }),
        )
        .await
        .expect_success("POST /api/dms");
    let dm = id(&opened["conversation"]);
    let dm_word = "persimmonlantern";
    let dm_body = format!("just between us: {dm_word}");
    let posted = api
        .post(
            &format!("/api/dms/{dm}/messages"),
            Some(&x_tok),
            json!({ "body": dm_body, "nonce": "x-dm-nonce-1" }),
        )
        .await
        .expect_success(&format!("POST /api/dms/{dm}/messages"));
    let dm_msg = id(&posted["message"]);
    let reply_word = "quincecompass";
    let replied = api
        .post(
            &format!("/api/messages/{dm_msg}/thread/replies"),
            Some(&x_tok),
            json!({ "body": format!("dm thread reply {reply_word}") }),
        )
        .await
        .expect_success(&format!("POST /api/messages/{dm_msg}/thread/replies"));
    let dm_reply = id(&replied["message"]);
    api.post(
        &format!("/api/messages/{dm_msg}/reactions"),
        Some(&x_tok),
        json!({ "emoji": "tada" }),
    )
    .await
    .expect_success(&format!("POST /api/messages/{dm_msg}/reactions"));
    // Y's own upload, for the attach attempt.
    let y_upload = api
        .upload(
            &format!("/api/uploads?workspace_id={ws}"),
            Some(&y_tok),
            Multipart::file("file", "y.txt", "text/plain", b"y"),
        )
        .await
        .expect(201, "Y's upload");
    let y_upload = id(&y_upload["upload"]);

    let secrets = Secrets(vec![
        ("the DM id", dm.clone()),
        ("the DM message id", dm_msg.clone()),
        ("the DM reply id", dm_reply.clone()),
        ("the DM body", dm_word.to_owned()),
        ("the DM reply body", reply_word.to_owned()),
        ("the DM nonce", "x-dm-nonce-1".to_owned()),
    ]);

    let mut cases = vec![
        case(Method::GET, format!("/api/dms/{dm}"), None, NOT_FOUND),
        case(
            Method::GET,
            format!("/api/dms/{dm}/messages"),
            None,
            NOT_FOUND,
        ),
        case(
            Method::GET,
            format!("/api/dms/{dm}/messages?after_seq=0"),
            None,
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/dms/{dm}/messages"),
            Some(json!({ "body": "let me in" })),
            NOT_FOUND,
        ),
        case(
            Method::POST,
            format!("/api/dms/{dm}/read"),
            Some(json!({ "seq": 1 })),
            NOT_FOUND,
        ),
        case(
            Method::GET,
            format!("/api/messages/by-nonce?workspace_id={ws}&nonce=x-dm-nonce-1"),
            None,
            NOT_FOUND,
        ),
    ];
    for message in [&dm_msg, &dm_reply] {
        cases.extend([
            case(
                Method::GET,
                format!("/api/messages/{message}"),
                None,
                NOT_FOUND,
            ),
            case(
                Method::GET,
                format!("/api/messages/{message}/thread"),
                None,
                NOT_FOUND,
            ),
            case(
                Method::POST,
                format!("/api/messages/{message}/thread/replies"),
                Some(json!({ "body": "butting in" })),
                NOT_FOUND,
            ),
            case(
                Method::POST,
                format!("/api/messages/{message}/reactions"),
                Some(json!({ "emoji": "eyes" })),
                NOT_FOUND,
            ),
            case(
                Method::POST,
                format!("/api/messages/{message}/reactions"),
                Some(json!({ "emoji": "tada" })),
                NOT_FOUND,
            ),
            case(
                Method::DELETE,
                format!("/api/messages/{message}/reactions/tada"),
                None,
                NOT_FOUND,
            ),
            case(
                Method::PATCH,
                format!("/api/messages/{message}"),
                Some(json!({ "body": "rewritten" })),
                NOT_FOUND,
            ),
            case(
                Method::DELETE,
                format!("/api/messages/{message}"),
                None,
                NOT_FOUND,
            ),
            case(
                Method::POST,
                format!("/api/messages/{message}/attachments"),
                Some(json!({ "upload_id": y_upload })),
                NOT_FOUND,
            ),
        ]);
    }
    run_cases(&api, "Y", &y_tok, &cases, &secrets).await;

    // Y's DM list does not include it.
    let listed = api
        .get(&format!("/api/dms?workspace_id={ws}"), Some(&y_tok))
        .await
        .expect_success(&format!("GET /api/dms?workspace_id={ws}"));
    let listed = listed["conversations"].as_array().expect("conversations");
    assert!(listed.iter().all(|c| c["id"] != dm.as_str()), "{listed:?}");

    // Search: X finds the DM message and reply, Y finds neither.
    for (word, target) in [(dm_word, &dm_msg), (reply_word, &dm_reply)] {
        let path = format!("/api/search?workspace_id={ws}&q={word}");
        let reply = api.get(&path, Some(&y_tok)).await;
        assert_eq!(reply.status, 200, "Y: GET {path}: {}", reply.text);
        let body = &reply.body;
        assert_eq!(
            search_ids(body),
            Vec::<String>::new(),
            "Y: GET {path}: {body}"
        );
        secrets.assert_no_leak(&format!("Y: GET {path}"), &path, &reply);

        let body = api
            .get(&path, Some(&x_tok))
            .await
            .expect_success(&format!("GET {path}"));
        assert!(search_ids(&body).contains(target), "X: GET {path}: {body}");
    }

    // Nothing changed for X.
    let message = api
        .get(&format!("/api/messages/{dm_msg}"), Some(&x_tok))
        .await
        .expect_success(&format!("GET /api/messages/{dm_msg}"));
    let message = &message["message"];
    assert_eq!(message["body"], dm_body.as_str());
    assert!(
        message["edited_at"].is_null() && message["deleted_at"].is_null(),
        "{message}"
    );
    assert_eq!(
        message["reactions"],
        json!([{ "emoji": "tada", "count": 1, "reacted_by_me": true }])
    );
    assert_eq!(message["attachments"].as_array().map(Vec::len), Some(0));
    assert_eq!(message["thread_state"]["reply_count"], 1, "{message}");
    let messages = api
        .get(&format!("/api/dms/{dm}/messages"), Some(&x_tok))
        .await
        .expect_success(&format!("GET /api/dms/{dm}/messages"));
    assert_eq!(
        messages["messages"].as_array().map(Vec::len),
        Some(1),
        "{messages}"
    );
    let conversation = api
        .get(&format!("/api/dms/{dm}"), Some(&x_tok))
        .await
        .expect_success(&format!("GET /api/dms/{dm}"));
    assert_eq!(
        conversation["conversation"]["last_seq"], 1,
        "{conversation}"
    );
    let mut members: Vec<String> = conversation["conversation"]["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(id)
        .collect();
    members.sort();
    let mut expected = vec![x.id.clone(), human.id.clone()];
    expected.sort();
    assert_eq!(members, expected);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nonce_lookup_only_finds_the_callers_own_messages() {
    let stack = TestStack::start().await;
    let api = stack.api();
    let boot = stack.bootstrap("delta").await;
    let ws = boot.workspace.id.clone();
    let channel = boot.general.id.clone();
    let (_, x_tok) = stack.service_bot(&ws, "xavier", "bot:admin").await;
    let (_, y_tok) = stack.service_bot(&ws, "yvonne", "bot:admin").await;

    let nonce = "x-channel-nonce-4411";
    let x_body = "x's message with nonce";
    let posted = api
        .post(
            &format!("/api/channels/{channel}/messages"),
            Some(&x_tok),
            json!({ "body": x_body, "nonce": nonce }),
        )
        .await
        .expect_success(&format!("POST /api/channels/{channel}/messages"));
    let x_msg = id(&posted["message"]);

    // X finds its own message.
    let path = format!("/api/messages/by-nonce?workspace_id={ws}&nonce={nonce}");
    let found = api
        .get(&path, Some(&x_tok))
        .await
        .expect_success(&format!("GET {path}"));
    assert_eq!(found["message"]["id"], x_msg.as_str(), "{found}");

    // Y does not.
    let secrets = Secrets(vec![
        ("X's message id", x_msg.clone()),
        ("X's message body", x_body.to_owned()),
    ]);
    let reply = api.get(&path, Some(&y_tok)).await;
    secrets.assert_refused(&format!("Y: GET {path}"), &path, &reply, NOT_FOUND);
    assert_eq!(
        reply
            .headers
            .get("x-clickclack-message-nonce")
            .map(|v| v.as_bytes()),
        Some(&b"supported"[..]),
        "Y: GET {path}: the 404 must carry X-ClickClack-Message-Nonce: supported"
    );

    // The same nonce from Y is Y's own: a new message, not X's.
    let y_posted = api
        .post(
            &format!("/api/channels/{channel}/messages"),
            Some(&y_tok),
            json!({ "body": "y's message", "nonce": nonce }),
        )
        .await
        .expect(201, "Y reusing X's nonce");
    let y_msg = id(&y_posted["message"]);
    assert_ne!(y_msg, x_msg);
    let found = api
        .get(&path, Some(&y_tok))
        .await
        .expect_success(&format!("GET {path}"));
    assert_eq!(found["message"]["id"], y_msg.as_str(), "{found}");
    let found = api
        .get(&path, Some(&x_tok))
        .await
        .expect_success(&format!("GET {path}"));
    assert_eq!(found["message"]["id"], x_msg.as_str(), "{found}");
    stack.stop().await;
}
