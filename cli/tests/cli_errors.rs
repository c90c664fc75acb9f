//! Every refused admin request prints one clear line and exits non-zero.

mod support;

use clickclack_testkit::TestStack;
use support::{clickclack, clickclack_at};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_bot_requests_print_one_clear_line() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let member = stack.add_human(ws, "mia").await;
    let (service_bot, _) = stack.service_bot(ws, "helper", "bot:read").await;
    let outsider = clickclack(
        &stack,
        &[
            "admin",
            "user",
            "create",
            "--name",
            "Olga",
            "--email",
            "olga@example.com",
            "--json",
        ],
    )
    .await
    .json();
    let outsider_id = outsider["user"]["id"].as_str().unwrap();

    let create = |extra: &[&str]| {
        let mut args = vec![
            "admin",
            "bot",
            "create",
            "--workspace",
            ws,
            "--name",
            "Some Bot",
            "--token-name",
            "t",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| {
        let stack = &stack;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            clickclack(stack, &args).await
        }
    };

    run(create(&["--handle", "b1", "--owner", &service_bot.id]))
        .await
        .assert_one_line_error("a bot cannot own a bot");
    run(create(&["--handle", "b2", "--owner", outsider_id]))
        .await
        .assert_one_line_error("is not a member");
    run(create(&["--handle", "helper"]))
        .await
        .assert_one_line_error("already taken");
    run(create(&["--handle", "@Helper"]))
        .await
        .assert_one_line_error("already taken");
    run(create(&[
        "--handle",
        "b3",
        "--scopes",
        "bot:write,messages:delete",
    ]))
    .await
    .assert_one_line_error("unknown scope \"messages:delete\"");
    run(create(&["--handle", "no spaces allowed"]))
        .await
        .assert_one_line_error("invalid handle");
    run(create(&[
        "--handle",
        "b4",
        "--owner",
        &member.id,
        "--created-by",
        &boot.owner.id,
    ]))
    .await
    .assert_one_line_error("only the owner");
    run(create(&["--handle", "b5", "--created-by", &member.id]))
        .await
        .assert_one_line_error("only workspace owners and moderators");
    clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "create",
            "--workspace",
            "nope",
            "--name",
            "X Bot",
            "--handle",
            "xbot",
        ],
    )
    .await
    .assert_one_line_error("workspace nope not found");
    clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "revoke",
            "--token-id",
            "btok_missing",
        ],
    )
    .await
    .assert_one_line_error("not found");
    clickclack(
        &stack,
        &[
            "admin",
            "member",
            "remove",
            "--workspace",
            "acme",
            "--user",
            &boot.owner.id,
        ],
    )
    .await
    .assert_one_line_error("last owner");

    // Nothing refused was half-created.
    let bots = clickclack(
        &stack,
        &["admin", "bot", "list", "--workspace", "acme", "--json"],
    )
    .await
    .json();
    assert_eq!(bots["bots"].as_array().unwrap().len(), 1, "{bots}");

    // A moderator may create a service bot; the owner may create their own.
    clickclack(
        &stack,
        &[
            "admin",
            "member",
            "add",
            "--workspace",
            "acme",
            "--user",
            &member.id,
            "--role",
            "moderator",
            "--json",
        ],
    )
    .await
    .json();
    let ok = clickclack(
        &stack,
        &create(&["--handle", "b6", "--created-by", &member.id, "--plain"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    stack.stop().await;
}

#[tokio::test]
async fn unreachable_identity_is_one_clear_line() {
    clickclack_at(
        "http://127.0.0.1:1",
        "http://127.0.0.1:1",
        &["admin", "workspace", "list"],
    )
    .await
    .assert_one_line_error("cannot reach the identity service at http://127.0.0.1:1");
}
