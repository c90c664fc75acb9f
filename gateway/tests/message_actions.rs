//! Interactive actions through the REST API: buttons on a bot's message,
//! a press handed to a real HTTP receiver (signed) or the bot's socket, the
//! bot's answer editing the pressed message, and presses by those who
//! cannot read the message refused before they reach the bot.

use clickclack_sdk::webhook::{DEFAULT_TOLERANCE, verify_action};
use clickclack_testkit::TestStack;
use clickclack_testkit::webhooks::{Answer, Receiver};
use clickclack_testkit::ws::{Socket, next_of_type, open_live_socket};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn json_answer(body: Value) -> Answer {
    Answer::raw(
        "200 OK",
        "Content-Type: application/json\r\n",
        &body.to_string(),
    )
}

fn buttons() -> Value {
    json!([
        { "id": "approve", "label": "Approve", "style": "primary", "value": "deploy-42" },
        { "id": "deny", "label": "Deny", "style": "danger" },
    ])
}

/// Posts `body` with `actions` into `channel` as `token`.
async fn post(stack: &TestStack, token: &str, channel: &str, actions: Value) -> (u16, Value) {
    let answer = stack
        .api()
        .post(
            &format!("/api/channels/{channel}/messages"),
            Some(token),
            json!({ "body": "Deploy 42 to prod?", "actions": actions }),
        )
        .await;
    (answer.status, answer.body)
}

async fn press(stack: &TestStack, token: &str, message: &str, action: &str) -> (u16, Value) {
    let answer = stack
        .api()
        .post(
            &format!("/api/messages/{message}/actions/{action}"),
            Some(token),
            json!({}),
        )
        .await;
    (answer.status, answer.body)
}

async fn live(stack: &TestStack, ws: &str, token: &str) -> Socket {
    open_live_socket(&stack.http_url, ws, token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_messages_carry_checked_buttons_that_people_cannot_add() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("buttons").await;
    let ws = boot.workspace.id.clone();
    let general = boot.general.id.clone();
    let (_, bot_token) = stack.service_bot(&ws, "deployer", "bot:write").await;
    let (_, ana_token) = stack.member_session(&ws, "ana", "member").await;

    let (status, posted) = post(&stack, &bot_token, &general, buttons()).await;
    assert_eq!(status, 201, "{posted}");
    let message = &posted["message"];
    assert_eq!(message["actions"][0]["id"], "approve");
    assert_eq!(message["actions"][0]["value"], "deploy-42");
    assert_eq!(message["actions"][1]["style"], "danger");
    assert_eq!(
        message["actions"][1]["value"], "",
        "a value defaults to empty"
    );
    let id = message["id"].as_str().unwrap().to_owned();
    let read = stack
        .api()
        .get(&format!("/api/messages/{id}"), Some(&ana_token))
        .await
        .expect(200, "read it");
    assert_eq!(read["message"]["actions"], message["actions"]);

    // A person's message has no buttons.
    let (status, answer) = post(&stack, &ana_token, &general, buttons()).await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("only bots"));
    // Bad buttons are refused with why.
    let six: Vec<Value> = (0..6)
        .map(|i| json!({ "id": format!("b{i}"), "label": "B" }))
        .collect();
    for (actions, says) in [
        (json!(six), "at most 5"),
        (json!([{ "id": "a b", "label": "A" }]), "action id"),
        (
            json!([{ "id": "a", "label": "A", "style": "loud" }]),
            "style",
        ),
        (
            json!([{ "id": "a", "label": "A" }, { "id": "a", "label": "B" }]),
            "twice",
        ),
    ] {
        let (status, answer) = post(&stack, &bot_token, &general, actions).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(says), "{answer}");
    }

    // The author edits its buttons; an edit of the body alone keeps them.
    let path = format!("/api/messages/{id}");
    let edited = stack
        .api()
        .patch(
            &path,
            Some(&bot_token),
            json!({ "actions": [{ "id": "undo", "label": "Undo" }] }),
        )
        .await
        .expect(200, "new buttons");
    assert_eq!(edited["message"]["body"], "Deploy 42 to prod?");
    assert_eq!(edited["message"]["actions"][0]["id"], "undo");
    let edited = stack
        .api()
        .patch(&path, Some(&bot_token), json!({ "body": "Deploy 43?" }))
        .await
        .expect(200, "a new body");
    assert_eq!(edited["message"]["actions"][0]["id"], "undo");
    let answer = stack.api().patch(&path, Some(&bot_token), json!({})).await;
    assert_eq!(answer.status, 400, "an edit of nothing: {}", answer.body);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_press_reaches_the_request_url_signed_and_the_answer_edits_the_message() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("presses").await;
    let ws = boot.workspace.id.clone();
    let general = boot.general.id.clone();
    let (bot, bot_token) = stack
        .service_bot(&ws, "deployer", "bot:write,commands:write")
        .await;
    let (ana, ana_token) = stack.member_session(&ws, "ana", "member").await;
    let (_, bo_token) = stack.member_session(&ws, "bo", "member").await;
    let mut receiver = Receiver::answering(json_answer(json!({
        "replace_original": true,
        "text": "Approved by Ana",
        "actions": [],
    })))
    .await;
    let endpoint = stack
        .api()
        .put(
            &format!("/api/workspaces/{ws}/bots/{}/interactivity", bot.id),
            Some(&bot_token),
            json!({ "request_url": receiver.url }),
        )
        .await
        .expect(200, "the bot sets its endpoint")["interactivity"]
        .clone();
    assert!(endpoint["id"].as_str().unwrap().starts_with("itx_"));
    assert_eq!(endpoint["delivery"], "url");
    let secret = endpoint["signing_secret"].as_str().unwrap().to_owned();
    let (_, posted) = post(&stack, &bot_token, &general, buttons()).await;
    let message_id = posted["message"]["id"].as_str().unwrap().to_owned();
    let mut bo_socket = live(&stack, &ws, &bo_token).await;

    let (status, answer) = press(&stack, &ana_token, &message_id, "approve").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["replace_original"], true);
    assert_eq!(answer["message"]["body"], "Approved by Ana");
    assert_eq!(answer["message"]["actions"], json!([]));
    assert_eq!(answer["message"]["author"]["id"], bot.id);
    assert_eq!(answer["invocation"]["message_id"], message_id);
    assert_eq!(answer["invocation"]["action_id"], "approve");
    // Everyone sees the change live.
    let updated = next_of_type(&mut bo_socket, "message.updated", WAIT)
        .await
        .expect("message.updated");
    assert_eq!(updated["payload"]["message_id"], message_id);

    // What the bot got: signed as a command is, with the press.
    let delivery = receiver.next(WAIT).await.expect("the press");
    let payload = verify_action(
        &[&secret],
        &delivery.header_pairs(),
        &delivery.body,
        DEFAULT_TOLERANCE,
    )
    .expect("signed with the endpoint's secret");
    assert_eq!(payload["type"], "action.invoked");
    assert_eq!(payload["message_id"], message_id);
    assert_eq!(payload["action"]["id"], "approve");
    assert_eq!(payload["action"]["value"], "deploy-42");
    assert_eq!(payload["user_id"], ana.id);
    assert_eq!(payload["bot_user_id"], bot.id);
    assert_eq!(payload["channel_id"], general);
    assert_eq!(payload["thread_root_id"], message_id);
    let token = payload["response_token"].as_str().unwrap().to_owned();

    // Follow-ups: new buttons with PATCH, a reply into the thread.
    let responses = format!("/api/command-responses/{token}");
    let replaced = stack
        .api()
        .patch(
            &responses,
            None,
            json!({ "actions": [{ "id": "rollback", "label": "Roll back", "style": "danger" }] }),
        )
        .await
        .expect(200, "PATCH edits the message");
    assert_eq!(replaced["message"]["body"], "Approved by Ana");
    assert_eq!(replaced["message"]["actions"][0]["id"], "rollback");
    let replied = stack
        .api()
        .post(&responses, None, json!({ "text": "Deployed." }))
        .await
        .expect(200, "an in-channel follow-up");
    assert_eq!(replied["message"]["parent_message_id"], message_id);
    let answer = stack
        .api()
        .post(&responses, None, json!({ "replace_original": true }))
        .await;
    assert_eq!(
        answer.status, 400,
        "a replacement of nothing: {}",
        answer.body
    );

    // The log shows the press; an unknown button is 404 and never sent.
    let log = stack
        .api()
        .get(
            &format!(
                "/api/workspaces/{ws}/bots/{}/interactivity/invocations",
                bot.id
            ),
            Some(&bot_token),
        )
        .await
        .expect(200, "the press log");
    assert_eq!(log["invocations"][0]["action_id"], "approve");
    assert_eq!(log["invocations"][0]["response_status"], 200);
    let (status, answer) = press(&stack, &ana_token, &message_id, "missing").await;
    assert_eq!(status, 404, "{answer}");
    receiver.assert_quiet(Duration::from_millis(300)).await;

    // A bot that fails to answer: 502, and the presser hears which.
    receiver.answer(Answer::raw("500 Internal Server Error", "", ""));
    let (status, answer) = press(&stack, &ana_token, &message_id, "rollback").await;
    assert_eq!(status, 502, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("\"rollback\" button") && error.contains("HTTP 500"),
        "{error}"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_presses_reach_the_bot_alone_and_non_readers_never_reach_it() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("sockpress").await;
    let ws = boot.workspace.id.clone();
    let (bot, bot_token) = stack.service_bot(&ws, "helper", "bot:write").await;
    let (bo, bo_token) = stack.member_session(&ws, "bo", "member").await;
    let (_, ana_token) = stack.member_session(&ws, "ana", "member").await;
    // The bot asks Bo in their DM.
    let dm = stack
        .api()
        .post(
            "/api/dms",
            Some(&bot_token),
            json!({ "workspace_id": ws, "member_ids": [bo.id] }),
        )
        .await
        .expect(201, "a DM")["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let posted = stack
        .api()
        .post(
            &format!("/api/dms/{dm}/messages"),
            Some(&bot_token),
            json!({ "body": "Restart the runner?", "actions": [{ "id": "yes", "label": "Yes", "value": "runner-7" }] }),
        )
        .await
        .expect(201, "a question with a button");
    let message_id = posted["message"]["id"].as_str().unwrap().to_owned();

    // No socket open: nobody acknowledges.
    let (status, answer) = press(&stack, &bo_token, &message_id, "yes").await;
    assert_eq!(status, 502, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("did not acknowledge")
    );

    let mut bot_socket = live(&stack, &ws, &bot_token).await;
    // Ana is not in the DM: 403, again and again, and the bot hears nothing.
    for _ in 0..5 {
        let (status, answer) = press(&stack, &ana_token, &message_id, "yes").await;
        assert_eq!(status, 403, "{answer}");
    }
    assert!(
        next_of_type(
            &mut bot_socket,
            "action.invoked",
            Duration::from_millis(500)
        )
        .await
        .is_none(),
        "a refused press reached the bot"
    );

    let pressing = {
        let api = stack.api();
        let path = format!("/api/messages/{message_id}/actions/yes");
        let token = bo_token.clone();
        tokio::spawn(async move {
            let answer = api.post(&path, Some(&token), json!({})).await;
            (answer.status, answer.body)
        })
    };
    let invoked = next_of_type(&mut bot_socket, "action.invoked", WAIT)
        .await
        .expect("the bot gets action.invoked");
    let payload = &invoked["payload"];
    assert_eq!(payload["user_id"], bo.id);
    assert_eq!(payload["bot_user_id"], bot.id);
    assert_eq!(payload["direct_conversation_id"], dm);
    assert_eq!(payload["action"]["value"], "runner-7");
    let token = payload["response_token"].as_str().unwrap();
    let acked = stack
        .api()
        .patch(
            &format!("/api/command-responses/{token}"),
            None,
            json!({ "text": "Restarting runner-7…", "actions": [] }),
        )
        .await
        .expect(200, "the acknowledgement edits the message");
    assert_eq!(acked["message"]["body"], "Restarting runner-7…");
    let (status, answer) = pressing.await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert!(answer["invocation"]["acked_at"].is_string(), "{answer}");
    let read = stack
        .api()
        .get(&format!("/api/messages/{message_id}"), Some(&bo_token))
        .await
        .expect(200, "read it back");
    assert_eq!(read["message"]["actions"], json!([]));
    stack.stop().await;
}
