//! Messaging is the final guard of its own rules: called directly over gRPC
//! with a principal the gateway would have refused, it refuses too.

use clickclack_common::assertion::{AssertionKey, Claims, DEV_INTERNAL_KEY};
use clickclack_common::scopes::{self, Scope};
use clickclack_proto::messaging as pb;
use clickclack_proto::messaging::messaging_service_client::MessagingServiceClient;
use clickclack_testkit::TestStack;
use serde_json::json;
use std::collections::BTreeSet;
use tonic::Code;

/// A bot's principal in `workspace` holding exactly `scopes`, as the
/// gateway would sign it.
fn bot(user_id: &str, workspace: &str, scopes: &[Scope]) -> Claims {
    let scopes: BTreeSet<Scope> = scopes.iter().copied().collect();
    Claims::new(user_id, "bot", workspace, "member", &scopes)
}

fn reply(parent: &str, body: &str) -> pb::PostMessageRequest {
    pb::PostMessageRequest {
        thread_parent_id: Some(parent.into()),
        body: body.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reply_needs_threads_write_and_a_dm_reply_dms_write_too() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (bot_user, token) = stack.service_bot(ws, "helper", "bot:write").await;
    let api = stack.api();
    // A DM between the bot and the owner, with a root message to reply to.
    let dm = api
        .post(
            "/api/dms",
            Some(&token),
            json!({"workspace_id": ws, "member_ids": [boot.owner.id]}),
        )
        .await
        .expect(201, "open a DM");
    let dm_id = dm["conversation"]["id"]
        .as_str()
        .expect("a DM id")
        .to_owned();
    let root = api
        .post(
            &format!("/api/dms/{dm_id}/messages"),
            Some(&token),
            json!({"body": "root"}),
        )
        .await
        .expect(201, "post in the DM");
    let root_id = root["message"]["id"]
        .as_str()
        .expect("a message id")
        .to_owned();
    let channel_root = api
        .post(
            &format!("/api/channels/{}/messages", boot.general.id),
            Some(&token),
            json!({"body": "channel root"}),
        )
        .await
        .expect(201, "post in general");
    let channel_root_id = channel_root["message"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();

    let key = AssertionKey::from_secret(DEV_INTERNAL_KEY).expect("dev key");
    let mut messaging = MessagingServiceClient::connect(stack.messaging_url.clone())
        .await
        .expect("connect to messaging");
    // What a human session holds: every scope a reply could need.
    let everything: Vec<Scope> = scopes::human().into_iter().collect();
    let without = |missing: Scope| -> Vec<Scope> {
        everything
            .iter()
            .copied()
            .filter(|s| *s != missing)
            .collect()
    };

    for (parent, what) in [
        (&root_id, "a DM reply"),
        (&channel_root_id, "a channel reply"),
    ] {
        let refused = messaging
            .post_message(key.request(
                &bot(&bot_user.id, ws, &without(Scope::ThreadsWrite)),
                reply(parent, "no threads:write"),
            ))
            .await
            .expect_err(what);
        assert_eq!(
            refused.code(),
            Code::PermissionDenied,
            "{what}: {refused:?}"
        );
        assert!(
            refused.message().contains("threads:write"),
            "{what}: {refused:?}"
        );
    }
    let refused = messaging
        .post_message(key.request(
            &bot(&bot_user.id, ws, &without(Scope::DmsWrite)),
            reply(&root_id, "no dms:write"),
        ))
        .await
        .expect_err("a DM reply without dms:write");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("dms:write"), "{refused:?}");

    // With both, the same replies go through.
    for parent in [&root_id, &channel_root_id] {
        let posted = messaging
            .post_message(key.request(&bot(&bot_user.id, ws, &everything), reply(parent, "ok")))
            .await
            .expect("a reply with threads:write and dms:write")
            .into_inner();
        let message = posted.message.expect("the reply");
        assert_eq!(&message.thread_root_id, parent);
    }
    stack.stop().await;
}
