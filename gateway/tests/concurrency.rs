//! Per-channel sequence numbers under concurrent writers, through the real
//! gateway: no gaps, no duplicates, and nonce retries never duplicate.

use clickclack_testkit::TestStack;
use serde_json::{Value, json};
use std::collections::HashSet;

const WRITERS: usize = 8;
const POSTS_PER_WRITER: usize = 200;

/// Every top-level message of the channel, ascending, paging with after_seq.
async fn all_messages(stack: &TestStack, channel_id: &str, token: &str) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut after = 0;
    loop {
        let page = stack
            .api()
            .get(
                &format!("/api/channels/{channel_id}/messages?after_seq={after}&limit=200"),
                Some(token),
            )
            .await
            .expect(200, "a page of messages");
        let batch = page["messages"].as_array().unwrap().clone();
        if batch.is_empty() {
            assert_eq!(page["has_newer"], false);
            return messages;
        }
        after = batch.last().unwrap()["channel_seq"].as_i64().unwrap();
        messages.extend(batch);
    }
}

fn assert_gapless(messages: &[Value], expected: usize) {
    let seqs: Vec<i64> = messages
        .iter()
        .map(|m| m["channel_seq"].as_i64().unwrap())
        .collect();
    let want: Vec<i64> = (1..=expected as i64).collect();
    assert_eq!(seqs, want, "channel_seq must be exactly 1..={expected}");
    let ids: HashSet<&str> = messages.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), expected, "no message twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_writers_get_gapless_unique_channel_seqs() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let channel = boot.general.id.clone();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (_, token) = stack
            .service_bot(&boot.workspace.id, &format!("writer{writer}"), "bot:write")
            .await;
        let api = stack.api();
        let path = format!("/api/channels/{channel}/messages");
        writers.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for post in 0..POSTS_PER_WRITER {
                let answer = api
                    .post(
                        &path,
                        Some(&token),
                        json!({ "body": format!("writer {writer} post {post}") }),
                    )
                    .await;
                assert_eq!(answer.status, 201);
                let body = answer.body;
                assert_eq!(body["event"]["seq"], body["message"]["channel_seq"]);
                seqs.push(body["message"]["channel_seq"].as_i64().unwrap());
            }
            (token, seqs)
        }));
    }
    let mut token = String::new();
    for writer in writers {
        let (writer_token, seqs) = writer.await.unwrap();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "one writer's posts are ordered"
        );
        token = writer_token;
    }
    let messages = all_messages(&stack, &channel, &token).await;
    assert_gapless(&messages, WRITERS * POSTS_PER_WRITER);
    let channels = stack
        .api()
        .get(
            &format!("/api/workspaces/{}/channels", boot.workspace.id),
            Some(&token),
        )
        .await
        .body;
    assert_eq!(
        channels["channels"][0]["last_seq"],
        (WRITERS * POSTS_PER_WRITER) as i64
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_nonce_retries_never_duplicate_a_message() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let channel = boot.general.id.clone();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (_, token) = stack
            .service_bot(&boot.workspace.id, &format!("writer{writer}"), "bot:write")
            .await;
        let api = stack.api();
        let path = format!("/api/channels/{channel}/messages");
        writers.push(tokio::spawn(async move {
            let mut created = 0;
            for post in 0..POSTS_PER_WRITER {
                // The same post sent twice at once, as a client retrying a timeout would.
                let body = json!({ "body": format!("writer {writer} post {post}"), "nonce": format!("w{writer}-p{post}") });
                let send = || api.post(&path, Some(&token), body.clone());
                let (first, second) = tokio::join!(send(), send());
                let statuses = [first.status, second.status];
                let (first, second) = (first.body, second.body);
                assert_eq!(first["message"]["id"], second["message"]["id"], "both answers name one message");
                assert!(statuses.contains(&201) && statuses.contains(&200), "one create, one replay: {statuses:?}");
                let replay = if statuses[0] == 200 { &first } else { &second };
                assert!(replay.get("event").is_none(), "a replay emits no event");
                created += 1;
            }
            (token, created)
        }));
    }
    let mut token = String::new();
    for writer in writers {
        let (writer_token, created) = writer.await.unwrap();
        assert_eq!(created, POSTS_PER_WRITER);
        token = writer_token;
    }
    let messages = all_messages(&stack, &channel, &token).await;
    assert_gapless(&messages, WRITERS * POSTS_PER_WRITER);
    let nonces: HashSet<&str> = messages
        .iter()
        .map(|m| m["nonce"].as_str().unwrap())
        .collect();
    assert_eq!(nonces.len(), WRITERS * POSTS_PER_WRITER);
    stack.stop().await;
}
