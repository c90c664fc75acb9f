//! The operator's lifecycle commands: magic links, rotation with grace,
//! bot removal and the audit log, through the real binary.

mod support;

use clickclack_testkit::TestStack;
use std::time::Duration;
use support::{clickclack, wait_for_status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_remove_and_audit_through_the_cli() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let created = clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "create",
            "--workspace",
            "acme",
            "--name",
            "Deploy",
            "--handle",
            "deploy",
            "--token-name",
            "prod",
            "--json",
        ],
    )
    .await
    .json();
    let old = created["token"].as_str().unwrap().to_owned();
    let old_id = created["bot_token"]["id"].as_str().unwrap().to_owned();
    let bot_id = created["bot"]["id"].as_str().unwrap().to_owned();

    // --plain prints only the new token; the old one works during grace.
    let rotated = clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "rotate",
            "--token-id",
            &old_id,
            "--grace",
            "1s",
            "--plain",
        ],
    )
    .await;
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    let new = rotated.stdout.trim_end().to_owned();
    assert!(new.starts_with("ccb_") && !new.contains('\n'));
    assert_eq!(rotated.stdout, format!("{new}\n"));
    assert_eq!(stack.api().get("/api/me", Some(&old)).await.status, 200);
    wait_for_status(&stack, "/api/me", &old, Duration::from_secs(3), |s| {
        s == 401
    })
    .await;
    assert_eq!(stack.api().get("/api/me", Some(&new)).await.status, 200);

    let listed = clickclack(
        &stack,
        &["admin", "bot", "token", "list", "--bot", &bot_id, "--json"],
    )
    .await
    .json();
    let tokens = listed["bot_tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0]["replaces_token_id"], old_id.as_str());

    clickclack(
        &stack,
        &["admin", "bot", "token", "rotate", "--token-id", &old_id],
    )
    .await
    .assert_one_line_error("already revoked");
    let bad_grace = clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "rotate",
            "--token-id",
            &old_id,
            "--grace",
            "soon",
        ],
    )
    .await;
    assert_ne!(bad_grace.code, 0);
    assert!(
        bad_grace.stderr.contains("invalid duration"),
        "{}",
        bad_grace.stderr
    );

    let removed = clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "remove",
            "--workspace",
            "acme",
            "--bot",
            &bot_id,
            "--json",
        ],
    )
    .await
    .json();
    assert_eq!(removed["revoked_tokens"], 1);
    wait_for_status(&stack, "/api/me", &new, Duration::from_secs(1), |s| {
        s == 401 || s == 403
    })
    .await;

    let audit = clickclack(
        &stack,
        &["admin", "audit", "list", "--workspace", "acme", "--json"],
    )
    .await
    .json();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions[..3],
        ["bot.removed", "bot_token.rotated", "bot.created"],
        "{actions:?}"
    );
    assert!(
        audit["entries"][0]["actor_user_id"].is_null(),
        "operators are recorded as such"
    );
    let text = clickclack(&stack, &["admin", "audit", "list", "--workspace", "acme"]).await;
    assert!(text.stdout.contains("operator") && text.stdout.contains("bot.removed"));

    // A magic link for a new person signs them in once.
    let link = clickclack(
        &stack,
        &[
            "admin",
            "magic-link",
            "create",
            "--email",
            "ada@example.com",
            "--name",
            "Ada",
            "--json",
        ],
    )
    .await
    .json();
    assert_eq!(link["user_created"], true);
    let plain = clickclack(
        &stack,
        &[
            "admin",
            "magic-link",
            "create",
            "--email",
            &boot.owner.email.clone().unwrap(),
            "--plain",
        ],
    )
    .await;
    assert!(plain.stdout.starts_with("mgt_") && plain.stdout.ends_with('\n'));
    stack
        .api()
        .post(
            "/api/auth/magic/consume",
            None,
            serde_json::json!({ "token": plain.stdout.trim() }),
        )
        .await
        .expect(200, "consume the CLI's --plain magic link");
    clickclack(
        &stack,
        &["admin", "magic-link", "create", "--email", "not-an-email"],
    )
    .await
    .assert_one_line_error("email");
    stack.stop().await;
}
