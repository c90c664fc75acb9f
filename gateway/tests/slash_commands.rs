//! Slash commands through the REST API: the registry as upstream's
//! TypeScript SDK calls it (`slashCommands.list/create/revoke/rotateSecret`),
//! invocations (upstream's `POST /api/hooks/slash/{channel}`) answered by a
//! real HTTP receiver or a bot's socket, ephemeral replies on the invoker's
//! sockets only, and follow-ups with the response token.

use aws_lc_rs::hmac;
use clickclack_proto::identity as pb;
use clickclack_sdk::webhook::{DEFAULT_TOLERANCE, verify_command};
use clickclack_testkit::webhooks::{Answer, Receiver};
use clickclack_testkit::ws::{Socket, next_of_type, open_live_socket};
use clickclack_testkit::{TestStack, WebhookSettings};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

fn json_answer(body: Value) -> Answer {
    Answer::raw(
        "200 OK",
        "Content-Type: application/json\r\n",
        &body.to_string(),
    )
}

/// Registers `/name` for `bot` (as `token`), answering its secret.
async fn register(stack: &TestStack, ws: &str, token: &str, body: Value) -> Value {
    stack
        .api()
        .post(
            &format!("/api/workspaces/{ws}/slash-commands"),
            Some(token),
            body,
        )
        .await
        .expect(201, "register a command")["slash_command"]
        .clone()
}

/// Invokes as the web app does: a form `{command, text}`.
async fn invoke(
    stack: &TestStack,
    token: &str,
    target: &str,
    command: &str,
    text: &str,
) -> (u16, Value) {
    let form = format!("command={}&text={}", url_encode(command), url_encode(text));
    let answer = stack
        .api()
        .send(
            Method::POST,
            &format!("/api/hooks/slash/{target}"),
            Some(token),
            "application/x-www-form-urlencoded",
            form,
        )
        .await;
    (answer.status, answer.body)
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn live(stack: &TestStack, ws: &str, token: &str) -> Socket {
    open_live_socket(&stack.http_url, ws, token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_sdk_calls_manage_the_registry() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("cmds").await;
    let ws = boot.workspace.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (bot, bot_token) = stack
        .service_bot(&ws, "deployer", "bot:write,commands:write")
        .await;
    let (_, reader_token) = stack.service_bot(&ws, "reader", "bot:read").await;
    let (_, member) = stack.member_session(&ws, "ana", "member").await;
    let api = stack.api();
    let path = format!("/api/workspaces/{ws}/slash-commands");

    // create(workspaceId, {command, callback_url, bot_user_id, description}).
    let created = register(
        &stack,
        &ws,
        &owner,
        json!({ "command": "Deploy", "callback_url": "http://127.0.0.1:9/deploy", "bot_user_id": bot.id, "description": "Ship it" }),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["signing_secret"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cmd_"), "{created}");
    assert!(secret.starts_with("whsec_"), "{created}");
    assert_eq!(created["command"], "/deploy");
    assert_eq!(created["description"], "Ship it");
    assert_eq!(created["bot_user_id"], bot.id);
    assert_eq!(created["workspace_id"], ws);
    assert_eq!(created["delivery"], "url");
    assert_eq!(created["created_by"], boot.owner.id);
    assert!(created.get("revoked_at").is_none());

    // The bot registers its own (commands:write), never for another bot.
    let own = register(
        &stack,
        &ws,
        &bot_token,
        json!({ "command": "/status", "delivery": "socket" }),
    )
    .await;
    assert_eq!(own["bot_user_id"], bot.id);
    assert_eq!(own["delivery"], "socket");
    assert_eq!(own["callback_url"], "");

    // list(workspaceId): every member sees them, never a secret.
    let listed = api.get(&path, Some(&member)).await.expect(200, "list");
    let names: Vec<&str> = listed["slash_commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|command| command["command"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["/deploy", "/status"]);
    assert!(!listed.to_string().contains("signing_secret"), "{listed}");

    // Bad input and strangers get clear errors.
    for (body, status) in [
        (
            json!({ "command": "/deploy", "callback_url": "http://127.0.0.1:9/x", "bot_user_id": bot.id }),
            409,
        ),
        (
            json!({ "command": "has space", "callback_url": "http://127.0.0.1:9/x", "bot_user_id": bot.id }),
            400,
        ),
        (
            json!({ "command": "/x", "callback_url": "http://127.0.0.1:9/x", "bot_user_id": bot.id, "description": "d".repeat(501) }),
            400,
        ),
        (
            json!({ "command": "/x", "callback_url": "not a url", "bot_user_id": bot.id }),
            400,
        ),
        (
            json!({ "command": "/x", "delivery": "pigeon", "bot_user_id": bot.id }),
            400,
        ),
        (
            json!({ "command": "/x", "delivery": "socket", "callback_url": "http://127.0.0.1:9/x", "bot_user_id": bot.id }),
            400,
        ),
        (
            json!({ "command": "/x", "callback_url": "http://127.0.0.1:9/x" }),
            400,
        ),
        (
            json!({ "command": "/x", "callback_url": "http://127.0.0.1:9/x", "bot_user_id": bot.id, "app_installation_id": "app_1" }),
            400,
        ),
    ] {
        api.post(&path, Some(&owner), body.clone())
            .await
            .expect_error(status, &body.to_string());
    }
    api.post(
        &path,
        Some(&member),
        json!({ "command": "/x", "callback_url": "http://127.0.0.1:9/x", "bot_user_id": bot.id }),
    )
    .await
    .expect_error(403, "a member who is not the bot's owner");
    api.post(
        &path,
        Some(&reader_token),
        json!({ "command": "/x", "delivery": "socket" }),
    )
    .await
    .expect_error(403, "a bot without commands:write");

    // rotateSecret(commandId): a new secret, shown once.
    let rotated = api
        .post(
            &format!("/api/slash-commands/{id}/rotate-secret"),
            Some(&owner),
            json!({}),
        )
        .await
        .expect(200, "rotate")["slash_command"]
        .clone();
    let new_secret = rotated["signing_secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);

    // revoke(commandId): gone from the list; rotating it is refused.
    let revoked = api
        .post(
            &format!("/api/slash-commands/{id}/revoke"),
            Some(&owner),
            json!({}),
        )
        .await
        .expect(200, "revoke")["slash_command"]
        .clone();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    api.post(
        &format!("/api/slash-commands/{id}/rotate-secret"),
        Some(&owner),
        json!({}),
    )
    .await
    .expect_error(400, "rotate a revoked command");
    api.post(
        &format!("/api/slash-commands/{id}/revoke"),
        Some(&member),
        json!({}),
    )
    .await
    .expect_error(403, "a member revokes a service bot's command");
    let listed = api.get(&path, Some(&member)).await.expect(200, "list");
    assert_eq!(listed["slash_commands"].as_array().unwrap().len(), 1);

    // A revoked (or never registered) command is posted as typed, as
    // upstream does, by the one who typed it.
    let (status, posted) = invoke(&stack, &member, &boot.general.id, "/deploy", "prod").await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["response_type"], "in_channel");
    assert_eq!(posted["message"]["body"], "/deploy prod");
    assert_ne!(posted["message"]["author"]["id"], bot.id);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_url_command_is_signed_and_its_replies_reach_whom_they_should() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("urlcmd").await;
    let ws = boot.workspace.id.clone();
    let general = boot.general.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (bot, _) = stack.service_bot(&ws, "deployer", "bot:write").await;
    let (ana, ana_token) = stack.member_session(&ws, "ana", "member").await;
    let (_, bo_token) = stack.member_session(&ws, "bo", "member").await;
    let mut receiver = Receiver::answering(json_answer(
        json!({ "response_type": "in_channel", "text": "Deploying prod" }),
    ))
    .await;
    let command = register(
        &stack,
        &ws,
        &owner,
        json!({ "command": "/deploy", "callback_url": receiver.url, "bot_user_id": bot.id }),
    )
    .await;
    let secret = command["signing_secret"].as_str().unwrap().to_owned();

    // In channel: the bot's message, posted as the bot.
    let (status, answer) = invoke(&stack, &ana_token, &general, "/deploy", "prod now").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["response_type"], "in_channel");
    assert_eq!(answer["text"], "Deploying prod");
    assert_eq!(answer["message"]["body"], "Deploying prod");
    assert_eq!(answer["message"]["author"]["id"], bot.id);
    assert_eq!(answer["message"]["author"]["kind"], "bot");
    assert_eq!(answer["event"]["type"], "message.created");
    let invocation = &answer["invocation"];
    assert!(invocation["id"].as_str().unwrap().starts_with("sci_"));
    assert_eq!(invocation["command_id"], command["id"]);
    assert_eq!(invocation["response_status"], 200);

    // What the bot got: signed both ways, upstream's fields and ours.
    let delivery = receiver.next(WAIT).await.expect("the invocation");
    let payload = verify_command(
        &[&secret],
        &delivery.header_pairs(),
        &delivery.body,
        DEFAULT_TOLERANCE,
    )
    .expect("signed with the command's secret");
    assert_eq!(delivery.header("webhook-id"), invocation["id"].as_str());
    let timestamp = delivery.header("x-clickclack-timestamp").unwrap();
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(&delivery.body);
    let expected: String = hmac::sign(&key, &signed)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(
        delivery.header("x-clickclack-signature"),
        Some(format!("sha256={expected}").as_str()),
        "upstream's signature"
    );
    assert_eq!(payload["command"], "/deploy");
    assert_eq!(payload["text"], "prod now");
    assert_eq!(payload["user_id"], ana.id);
    assert_eq!(payload["bot_user_id"], bot.id);
    assert_eq!(payload["workspace_id"], ws);
    assert_eq!(payload["channel_id"], general);
    assert_eq!(payload["command_id"], command["id"]);
    assert_eq!(payload["trigger_id"], invocation["id"]);
    assert!(
        payload["response_token"]
            .as_str()
            .unwrap()
            .starts_with("ccr_")
    );
    assert!(payload["invoked_at"].is_string());

    // Ephemeral: only the invoker's sockets get it, all of them.
    let mut ana_first = live(&stack, &ws, &ana_token).await;
    let mut ana_second = live(&stack, &ws, &ana_token).await;
    let mut bo_socket = live(&stack, &ws, &bo_token).await;
    receiver.answer(json_answer(
        json!({ "response_type": "ephemeral", "text": "Only you see this" }),
    ));
    let (status, answer) = invoke(&stack, &ana_token, &general, "/deploy", "dry-run").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(answer.get("message").is_none(), "{answer}");
    for socket in [&mut ana_first, &mut ana_second] {
        let event = next_of_type(socket, "command.response", WAIT)
            .await
            .expect("the reply");
        assert_eq!(event["payload"]["text"], "Only you see this");
        assert_eq!(event["payload"]["is_error"], false);
        assert_eq!(event["payload"]["command"], "/deploy");
        assert_eq!(event["channel_id"], general);
    }
    // Bo's socket, open all along, never gets it.
    assert!(
        next_of_type(&mut bo_socket, "command.response", Duration::from_secs(1))
            .await
            .is_none(),
        "another member saw an ephemeral reply"
    );
    let marker = stack
        .api()
        .post(
            &format!("/api/channels/{general}/messages"),
            Some(&ana_token),
            json!({ "body": "marker" }),
        )
        .await
        .expect(201, "a thread root");

    // A thread: an in-channel reply goes into it.
    let root = marker["message"]["id"].as_str().unwrap();
    receiver.answer(json_answer(json!({ "text": "in the thread" })));
    let answer = stack
        .api()
        .post(
            &format!("/api/hooks/slash/{general}"),
            Some(&ana_token),
            json!({ "command": "/deploy", "text": "t", "thread_root_id": root }),
        )
        .await
        .expect(200, "invoke in a thread (JSON)");
    assert_eq!(answer["message"]["thread_root_id"], root, "{answer}");
    // A root of another channel cannot steer the reply there.
    let elsewhere = stack
        .api()
        .post(
            &format!("/api/workspaces/{ws}/channels"),
            Some(&owner),
            json!({ "name": "elsewhere" }),
        )
        .await
        .expect(201, "another channel")["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let foreign = stack
        .api()
        .post(
            &format!("/api/channels/{elsewhere}/messages"),
            Some(&owner),
            json!({ "body": "over here" }),
        )
        .await
        .expect(201, "a root elsewhere");
    stack
        .api()
        .post(
            &format!("/api/hooks/slash/{general}"),
            Some(&ana_token),
            json!({ "command": "/deploy", "text": "t", "thread_root_id": foreign["message"]["id"] }),
        )
        .await
        .expect_error(400, "a thread of another channel");
    let long = "x".repeat(4001);
    stack
        .api()
        .post(
            &format!("/api/hooks/slash/{general}"),
            Some(&ana_token),
            json!({ "command": "/deploy", "text": long }),
        )
        .await
        .expect_error(400, "text past 4,000 characters");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_that_fails_to_answer_is_reported_to_the_invoker_and_logged() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("failing").await;
    let ws = boot.workspace.id.clone();
    let general = boot.general.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (bot, bot_token) = stack
        .service_bot(&ws, "flaky", "bot:write,commands:write")
        .await;
    let (_, ana_token) = stack.member_session(&ws, "ana", "member").await;
    let mut receiver = Receiver::answering(Answer::Hang).await;
    let command = register(
        &stack,
        &ws,
        &owner,
        json!({ "command": "/flaky", "callback_url": receiver.url, "bot_user_id": bot.id }),
    )
    .await;
    let id = command["id"].as_str().unwrap();
    let mut ana_socket = live(&stack, &ws, &ana_token).await;

    // No answer in 3 s.
    let started = Instant::now();
    let (status, answer) = invoke(&stack, &ana_token, &general, "/flaky", "").await;
    let took = started.elapsed();
    assert_eq!(status, 502, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("within 3 seconds"), "{error}");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(8),
        "{took:?}"
    );
    let told = next_of_type(&mut ana_socket, "command.response", WAIT)
        .await
        .expect("told");
    assert_eq!(told["payload"]["is_error"], true);
    assert_eq!(told["payload"]["text"], error);
    receiver.next(WAIT).await.expect("the invocation was sent");

    // A bad status, then an answer that is not JSON.
    receiver.answer(Answer::Status(500));
    let (status, answer) = invoke(&stack, &ana_token, &general, "/flaky", "").await;
    assert_eq!(status, 502);
    assert!(
        answer["error"].as_str().unwrap().contains("HTTP 500"),
        "{answer}"
    );
    receiver.answer(Answer::raw("200 OK", "", "ok"));
    let (status, answer) = invoke(&stack, &ana_token, &general, "/flaky", "").await;
    assert_eq!(status, 502);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("not a JSON object"),
        "{answer}"
    );

    // Unreachable: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    register(
        &stack,
        &ws,
        &owner,
        json!({ "command": "/gone", "callback_url": format!("http://127.0.0.1:{port}/x"), "bot_user_id": bot.id }),
    )
    .await;
    let (status, answer) = invoke(&stack, &ana_token, &general, "/gone", "").await;
    assert_eq!(status, 502);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{answer}"
    );

    // The log, for the bot (and its managers), newest first.
    let log = stack
        .api()
        .get(
            &format!("/api/slash-commands/{id}/invocations"),
            Some(&bot_token),
        )
        .await
        .expect(200, "the log")["invocations"]
        .clone();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log[0]["error"]
            .as_str()
            .unwrap()
            .contains("not a JSON object")
    );
    assert_eq!(log[0]["response_status"], 200);
    assert_eq!(log[0]["response_body"], "ok");
    assert_eq!(log[1]["response_status"], 500);
    assert!(
        log[2]["error"]
            .as_str()
            .unwrap()
            .contains("within 3 seconds")
    );
    assert!(log.iter().all(|entry| entry["completed_at"].is_string()));
    stack
        .api()
        .get(
            &format!("/api/slash-commands/{id}/invocations"),
            Some(&ana_token),
        )
        .await
        .expect_error(403, "a member reads a service bot's log");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_hold_for_five_responses_within_the_token_lifetime() {
    let stack = TestStack::start_with_webhooks(WebhookSettings {
        command_response_seconds: 3,
        ..WebhookSettings::default()
    })
    .await;
    let boot = stack.bootstrap("follow").await;
    let ws = boot.workspace.id.clone();
    let general = boot.general.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (bot, _) = stack.service_bot(&ws, "helper", "bot:write").await;
    let (_, ana_token) = stack.member_session(&ws, "ana", "member").await;
    let mut receiver = Receiver::answering(Answer::raw("200 OK", "", "")).await;
    register(
        &stack,
        &ws,
        &owner,
        json!({ "command": "/later", "callback_url": receiver.url, "bot_user_id": bot.id }),
    )
    .await;
    let api = stack.api();

    // An empty 200 acknowledges with no reply.
    let (status, answer) = invoke(&stack, &ana_token, &general, "/later", "").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["text"], "");
    assert!(answer.get("message").is_none());
    let token = receiver.next(WAIT).await.unwrap().json()["response_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let respond = |body: Value| {
        let path = format!("/api/command-responses/{token}");
        let api = &api;
        async move { api.post(&path, None, body).await }
    };

    // Five follow-ups: in channel as the bot, or to the invoker alone.
    let mut ana_socket = live(&stack, &ws, &ana_token).await;
    let first = respond(json!({ "text": "step 1" }))
        .await
        .expect(200, "follow-up 1");
    assert_eq!(first["message"]["author"]["id"], bot.id);
    assert_eq!(first["message"]["channel_id"], general);
    let quiet = respond(json!({ "response_type": "ephemeral", "text": "psst" }))
        .await
        .expect(200, "follow-up 2");
    assert_eq!(quiet["event"]["type"], "command.response");
    let told = next_of_type(&mut ana_socket, "command.response", WAIT)
        .await
        .unwrap();
    assert_eq!(told["payload"]["text"], "psst");
    // An empty one only acknowledges and does not count.
    respond(json!({})).await.expect(200, "an empty response");
    respond(json!({ "response_type": "shout", "text": "x" }))
        .await
        .expect_error(400, "a bad response_type");
    for n in 3..=5 {
        respond(json!({ "text": format!("step {n}") }))
            .await
            .expect(200, "follow-ups 3 to 5");
    }
    let spent = respond(json!({ "text": "step 6" }))
        .await
        .expect_error(410, "a sixth");
    assert!(spent.contains("5 responses"), "{spent}");
    api.post(
        "/api/command-responses/ccr_never",
        None,
        json!({ "text": "x" }),
    )
    .await
    .expect_error(404, "a token never handed out");

    // After its lifetime (3 s here; 15 minutes by default) it is refused,
    // at the edge, every time.
    let (_, _) = invoke(&stack, &ana_token, &general, "/later", "").await;
    let token = receiver.next(WAIT).await.unwrap().json()["response_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/command-responses/{token}");
    api.post(&path, None, json!({ "text": "in time" }))
        .await
        .expect(200, "within the lifetime");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    for _ in 0..5 {
        api.post(&path, None, json!({ "text": "too late" }))
            .await
            .expect_error(410, "after the lifetime");
    }

    // Ten follow-ups at once: exactly five get through, every round.
    for round in 0..3 {
        invoke(&stack, &ana_token, &general, "/later", "").await;
        let token = receiver.next(WAIT).await.unwrap().json()["response_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/api/command-responses/{token}");
        let racing = (0..10).map(|n| {
            let api = api.clone();
            let path = path.clone();
            tokio::spawn(async move {
                api.post(&path, None, json!({ "text": format!("race {round}.{n}") }))
                    .await
                    .status
            })
        });
        let mut statuses: Vec<u16> = futures_util::future::join_all(racing)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 200, 200, 200, 200, 410, 410, 410, 410, 410],
            "round {round}"
        );
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_command_reaches_its_connected_bot_which_acknowledges_with_its_token() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("sockets").await;
    let ws = boot.workspace.id.clone();
    let general = boot.general.id.clone();
    let (bot, bot_token) = stack
        .service_bot(&ws, "daemon", "bot:write,commands:write")
        .await;
    let (ana, ana_token) = stack.member_session(&ws, "ana", "member").await;
    let (_, bo_token) = stack.member_session(&ws, "bo", "member").await;
    register(
        &stack,
        &ws,
        &bot_token,
        json!({ "command": "/ping", "delivery": "socket", "description": "Are you there?" }),
    )
    .await;

    // Not connected: nobody acknowledges, and the invoker hears so.
    let (status, answer) = invoke(&stack, &ana_token, &general, "/ping", "").await;
    assert_eq!(status, 502, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("did not acknowledge"),
        "{answer}"
    );

    let mut bot_socket = live(&stack, &ws, &bot_token).await;
    let mut bo_socket = live(&stack, &ws, &bo_token).await;
    let mut ana_socket = live(&stack, &ws, &ana_token).await;
    let invoking = {
        let api = stack.api();
        let general = general.clone();
        let token = ana_token.clone();
        tokio::spawn(async move {
            let answer = api
                .send(
                    Method::POST,
                    &format!("/api/hooks/slash/{general}"),
                    Some(&token),
                    "application/x-www-form-urlencoded",
                    "command=%2Fping&text=hello",
                )
                .await;
            (answer.status, answer.body)
        })
    };
    let invoked = next_of_type(&mut bot_socket, "command.invoked", WAIT)
        .await
        .expect("the bot gets command.invoked");
    let payload = &invoked["payload"];
    assert_eq!(payload["command"], "/ping");
    assert_eq!(payload["text"], "hello");
    assert_eq!(payload["user_id"], ana.id);
    assert_eq!(payload["bot_user_id"], bot.id);
    let token = payload["response_token"].as_str().unwrap();
    stack
        .api()
        .post(
            &format!("/api/command-responses/{token}"),
            None,
            json!({ "response_type": "ephemeral", "text": "pong" }),
        )
        .await
        .expect(200, "the acknowledgement, with a reply");
    let (status, answer) = invoking.await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert!(answer["invocation"]["acked_at"].is_string(), "{answer}");
    let told = next_of_type(&mut ana_socket, "command.response", WAIT)
        .await
        .unwrap();
    assert_eq!(told["payload"]["text"], "pong");
    // Only the bot got the invocation, and only Ana the reply.
    assert!(
        next_of_type(
            &mut bo_socket,
            "command.invoked",
            Duration::from_millis(500)
        )
        .await
        .is_none()
    );
    assert!(
        next_of_type(
            &mut bo_socket,
            "command.response",
            Duration::from_millis(500)
        )
        .await
        .is_none()
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_those_who_can_write_where_they_type_invoke_and_others_never_reach_the_bot() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("private").await;
    let ws = boot.workspace.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (bot, _) = stack.service_bot(&ws, "guard", "bot:write").await;
    let (_, ana_token) = stack.member_session(&ws, "ana", "member").await;
    let (_, reader_token) = stack.service_bot(&ws, "reader", "bot:read").await;
    let mut receiver = Receiver::answering(json_answer(json!({ "text": "ok" }))).await;
    register(
        &stack,
        &ws,
        &owner,
        json!({ "command": "/guard", "callback_url": receiver.url, "bot_user_id": bot.id }),
    )
    .await;
    // A DM between two others is not Ana's to type in.
    let (_, bo_token) = stack.member_session(&ws, "bo", "member").await;
    let dm = stack
        .api()
        .post(
            "/api/dms",
            Some(&bo_token),
            json!({ "workspace_id": ws, "member_ids": [boot.owner.id] }),
        )
        .await
        .expect(201, "a DM")["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, answer) = invoke(&stack, &ana_token, &dm, "/guard", "x").await;
    assert!(status == 404 || status == 403, "{status} {answer}");
    // Its members may; the bot is not one, so its in-channel reply cannot
    // go there, and the invoker is told so, alone.
    let (status, answer) = invoke(&stack, &bo_token, &dm, "/guard", "x").await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("message").is_none(), "{answer}");
    assert_eq!(answer["event"]["type"], "command.response");
    assert_eq!(answer["event"]["payload"]["is_error"], true);
    assert!(
        answer["event"]["payload"]["text"]
            .as_str()
            .unwrap()
            .contains("cannot post here"),
        "{answer}"
    );
    receiver.next(WAIT).await.expect("the members' invocation");

    // A user-owned bot answers only while its owner is a member.
    let (cleo, _) = stack.member_session(&ws, "cleo", "member").await;
    let (owned, _) = stack
        .owned_bot(&ws, "cleos", "Cleo's helper", &cleo.id, "bot:write")
        .await;
    register(
        &stack,
        &ws,
        &owner,
        json!({ "command": "/cleo", "callback_url": receiver.url, "bot_user_id": owned.id }),
    )
    .await;
    let (status, answer) = invoke(&stack, &ana_token, &boot.general.id, "/cleo", "").await;
    assert_eq!(status, 200, "{answer}");
    receiver.next(WAIT).await.expect("while Cleo is a member");
    stack
        .identity()
        .await
        .remove_member(pb::RemoveMemberRequest {
            workspace: ws.clone(),
            user_id: cleo.id.clone(),
        })
        .await
        .unwrap();
    let (status, answer) = invoke(&stack, &ana_token, &boot.general.id, "/cleo", "").await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("can no longer answer"),
        "{answer}"
    );
    let (status, _) = invoke(&stack, &reader_token, &boot.general.id, "/guard", "x").await;
    assert_eq!(status, 403, "a token without messages:write");
    let (status, _) = invoke(&stack, &ana_token, "chn_missing", "/guard", "x").await;
    assert_eq!(status, 404);
    let (status, _) = invoke(&stack, &ana_token, &boot.general.id, "", "").await;
    assert_eq!(status, 400, "nothing typed");
    receiver.assert_quiet(Duration::from_millis(800)).await;
    stack.stop().await;
}
