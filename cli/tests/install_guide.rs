//! The install guide, verbatim: `--workspace` takes a slug, `--bot` a handle
//! (with or without `@`), `--data /app/data --plain` prints only the token,
//! every option has a help line and text tables end with a newline.

mod support;

use clickclack_testkit::{TestStack, openclaw};
use std::time::Duration;
use support::{Run, clickclack, wait_for_status};

/// Runs `clickclack <args>` and asserts it succeeded.
async fn ok(stack: &TestStack, args: &[&str]) -> Run {
    let run = clickclack(stack, args).await;
    assert_eq!(run.code, 0, "clickclack {args:?} failed: {}", run.stderr);
    run
}

/// Asserts `run` is a text table: a header line starting with `header`, at
/// least one row, and a newline at the end.
fn assert_table(run: &Run, header: &str) {
    assert!(
        run.stdout.starts_with(header),
        "a table under {header:?}: {:?}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with('\n'),
        "a text table ends with a newline: {:?}",
        run.stdout
    );
    assert!(run.stdout.lines().count() >= 2, "{:?}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_commands_take_workspace_slugs_and_bot_handles() {
    let stack = TestStack::start().await;
    let api = stack.api();
    stack.bootstrap("acme").await;

    // The guide's command, as `docker exec clickclack clickclack admin ...`
    // runs it: --data /app/data is accepted, and stdout is only the token.
    let created = ok(
        &stack,
        &[
            "admin",
            "bot",
            "create",
            "--data",
            "/app/data",
            "--workspace",
            "acme",
            "--name",
            "OpenClaw Service",
            "--handle",
            "openclaw-service",
            "--scopes",
            "bot:write",
            "--token-name",
            "openclaw-prod",
            "--plain",
        ],
    )
    .await;
    let lines: Vec<&str> = created.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stdout: {:?}", created.stdout);
    let first = lines[0];
    assert!(first.starts_with("ccb_"), "{first:?}");
    assert_eq!(created.stdout, format!("{first}\n"));
    assert!(
        created.stderr.contains("--data /app/data is ignored"),
        "the note about --data goes to stderr: {:?}",
        created.stderr
    );
    assert_eq!(api.get("/api/me", Some(first)).await.status, 200);

    // token create: handle with and without @, with and without --workspace.
    let mut minted = Vec::new();
    for (bot, workspace) in [
        ("openclaw-service", Some("acme")),
        ("@openclaw-service", Some("acme")),
        ("@OpenClaw-Service", None),
    ] {
        let mut args = vec![
            "admin", "bot", "token", "create", "--bot", bot, "--name", "extra", "--plain",
        ];
        if let Some(workspace) = workspace {
            args.extend(["--workspace", workspace]);
        }
        let run = ok(&stack, &args).await;
        let token = run.stdout.trim_end().to_owned();
        assert!(token.starts_with("ccb_"), "{:?}", run.stdout);
        assert_eq!(api.get("/api/me", Some(&token)).await.status, 200);
        minted.push(token);
    }

    // token list by handle: all four tokens, as JSON and as a table.
    let listed = ok(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "list",
            "--bot",
            "@openclaw-service",
            "--workspace",
            "acme",
            "--json",
        ],
    )
    .await
    .json();
    let tokens = listed["bot_tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 4, "{listed}");
    let newest = tokens[0]["id"].as_str().unwrap().to_owned();
    let oldest = tokens[3]["id"].as_str().unwrap().to_owned();
    assert_eq!(tokens[3]["name"], "openclaw-prod");
    let table = ok(
        &stack,
        &["admin", "bot", "token", "list", "--bot", "openclaw-service"],
    )
    .await;
    assert_table(&table, "TOKEN");
    assert_eq!(table.stdout.lines().count(), 5, "{:?}", table.stdout);

    // rotate and revoke the tokens the handle listed.
    let rotated = ok(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "rotate",
            "--token-id",
            &oldest,
            "--plain",
        ],
    )
    .await;
    assert!(rotated.stdout.starts_with("ccb_"));
    wait_for_status(&stack, "/api/me", first, Duration::from_secs(1), |s| {
        s == 401
    })
    .await;
    let revoked = ok(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "revoke",
            "--token-id",
            &newest,
            "--json",
        ],
    )
    .await
    .json();
    assert!(revoked["bot_token"]["revoked_at"].is_string(), "{revoked}");

    // Text tables of the other listings end with a newline too.
    assert_table(
        &ok(&stack, &["admin", "bot", "list", "--workspace", "acme"]).await,
        "BOT",
    );
    assert_table(
        &ok(&stack, &["admin", "member", "list", "--workspace", "acme"]).await,
        "USER",
    );
    assert_table(
        &ok(&stack, &["admin", "audit", "list", "--workspace", "acme"]).await,
        "WHEN",
    );
    assert_table(&ok(&stack, &["admin", "workspace", "list"]).await, "ID");

    // An unknown handle is one clear line naming it, and a non-zero exit.
    clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "list",
            "--bot",
            "@ghost",
            "--workspace",
            "acme",
        ],
    )
    .await
    .assert_one_line_error("no bot with the handle @ghost in workspace acme");
    clickclack(
        &stack,
        &[
            "admin", "bot", "token", "create", "--bot", "ghost", "--plain",
        ],
    )
    .await
    .assert_one_line_error("no bot has the handle @ghost");
    clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "remove",
            "--workspace",
            "acme",
            "--bot",
            "@ghost",
        ],
    )
    .await
    .assert_one_line_error("@ghost");
    clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "list",
            "--bot",
            "@openclaw-service",
            "--workspace",
            "nope",
        ],
    )
    .await
    .assert_one_line_error("workspace nope not found");

    // The same handle in a second workspace: without --workspace the handle
    // is ambiguous; with it, each names its own bot.
    ok(
        &stack,
        &[
            "admin",
            "workspace",
            "create",
            "--name",
            "Other",
            "--slug",
            "other",
        ],
    )
    .await;
    let other = ok(
        &stack,
        &[
            "admin",
            "bot",
            "create",
            "--workspace",
            "other",
            "--name",
            "OpenClaw Service",
            "--handle",
            "openclaw-service",
            "--json",
        ],
    )
    .await
    .json();
    let other_bot = other["bot"]["id"].as_str().unwrap().to_owned();
    clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "list",
            "--bot",
            "@openclaw-service",
        ],
    )
    .await
    .assert_one_line_error("pass --workspace");
    let listed = ok(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "list",
            "--bot",
            "@openclaw-service",
            "--workspace",
            "other",
            "--json",
        ],
    )
    .await
    .json();
    assert_eq!(listed["bot_tokens"].as_array().unwrap().len(), 1);
    assert_eq!(listed["bot_tokens"][0]["bot_user_id"], other_bot.as_str());

    // bot remove by handle; afterwards the handle names only the other bot.
    let removed = ok(
        &stack,
        &[
            "admin",
            "bot",
            "remove",
            "--workspace",
            "acme",
            "--bot",
            "@openclaw-service",
            "--json",
        ],
    )
    .await
    .json();
    assert_eq!(removed["bot"]["handle"], "openclaw-service");
    assert_ne!(removed["bot"]["id"], other_bot.as_str());
    // Five tokens: one revoked by rotation, one by revoke, three by removal.
    assert_eq!(removed["revoked_tokens"], 3, "{removed}");
    let listed = ok(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "list",
            "--bot",
            "openclaw-service",
            "--json",
        ],
    )
    .await
    .json();
    assert_eq!(listed["bot_tokens"][0]["bot_user_id"], other_bot.as_str());
    stack.stop().await;
}

/// `clickclack <path> --help`, which must succeed.
fn help(path: &[String]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_clickclack"))
        .args(path)
        .arg("--help")
        .env_remove("RUST_LOG")
        .output()
        .expect("run the clickclack binary");
    assert!(output.status.success(), "clickclack {path:?} --help failed");
    String::from_utf8(output.stdout).expect("utf-8 help")
}

/// The help text's entries under `section` ("Commands:", "Options:",
/// "Arguments:"): each entry's head (`--name <NAME>`, `bootstrap`) with its
/// description, whether on the head's line or on the lines below it.
fn entries(help: &str, section: &str) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            inside = line == section;
            continue;
        }
        if !inside || line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent <= 2 || (indent <= 6 && line.trim_start().starts_with("--")) {
            let text = line.trim_start();
            let (head, description) = text.split_once("  ").unwrap_or((text, ""));
            entries.push((head.trim().to_owned(), description.trim().to_owned()));
        } else if let Some((_, description)) = entries.last_mut() {
            description.push(' ');
            description.push_str(line.trim());
        }
    }
    entries
}

/// A description with clap's `[env: ...]`, `[default: ...]`, ... removed.
fn prose(description: &str) -> String {
    let mut text = String::new();
    let mut depth = 0;
    for c in description.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => text.push(c),
            _ => {}
        }
    }
    text.trim().to_owned()
}

#[test]
fn every_command_and_option_has_a_help_line() {
    let mut pending: Vec<Vec<String>> = vec![vec![]];
    let mut undocumented = Vec::new();
    let mut visited = 0;
    while let Some(path) = pending.pop() {
        visited += 1;
        let text = help(&path);
        let shown = format!("clickclack {}", path.join(" "));
        for (head, description) in entries(&text, "Commands:") {
            if head == "help" {
                continue;
            }
            if prose(&description).is_empty() {
                undocumented.push(format!("{shown}: command {head}"));
            }
            let mut next = path.clone();
            next.push(head);
            pending.push(next);
        }
        for section in ["Options:", "Arguments:"] {
            for (head, description) in entries(&text, section) {
                if prose(&description).is_empty() {
                    undocumented.push(format!("{shown}: {head}"));
                }
            }
        }
    }
    assert!(visited > 20, "walked only {visited} commands");
    assert!(
        undocumented.is_empty(),
        "without a help line:\n{}",
        undocumented.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setup_code_from_the_cli_is_claimed_for_a_token() {
    let stack = TestStack::start().await;
    stack.bootstrap("acme").await;
    ok(
        &stack,
        &[
            "admin",
            "bot",
            "create",
            "--workspace",
            "acme",
            "--name",
            "OpenClaw",
            "--handle",
            "openclaw",
            "--plain",
        ],
    )
    .await;
    let run = ok(
        &stack,
        &[
            "admin",
            "bot",
            "setup-code",
            "create",
            "--workspace",
            "acme",
            "--bot",
            "@openclaw",
            "--scopes",
            "bot:read",
            "--token-name",
            "laptop",
            "--plain",
        ],
    )
    .await;
    let code = run.stdout.trim_end_matches('\n');
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "--plain prints only the code"
    );
    assert_eq!(code.len(), 14, "XXXX-XXXX-XXXX: {code:?}");

    let claimed = stack
        .api()
        .post(
            "/api/bot-setup-codes/claim",
            None,
            serde_json::json!({ "code": code }),
        )
        .await
        .expect(200, "claim the CLI's code");
    assert_eq!(claimed["bot"]["handle"], "openclaw");
    let token = claimed["token"].as_str().unwrap();
    let me = stack
        .api()
        .get("/api/me", Some(token))
        .await
        .expect(200, "me");
    assert_eq!(me["user"]["handle"], "openclaw");

    // With the server's public URL the CLI prints the ready commands, and
    // each works as printed, read the way the OpenClaw extension reads it.
    for _ in 0..2 {
        let run = ok(
            &stack,
            &[
                "admin",
                "bot",
                "setup-code",
                "create",
                "--workspace",
                "acme",
                "--bot",
                "@openclaw",
                "--public-url",
                &format!("{}/", stack.http_url),
            ],
        )
        .await;
        let commands: Vec<&str> = run
            .stdout
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with("openclaw "))
            .collect();
        assert_eq!(commands.len(), 2, "{}", run.stdout);
        assert!(
            commands[0].contains(&format!("'{}/#", stack.http_url)),
            "the setup URL form first: {}",
            commands[0]
        );
        let claims: Vec<_> = commands
            .iter()
            .map(|command| openclaw::parse_command(command).unwrap_or_else(|why| panic!("{why}")))
            .collect();
        assert_eq!(claims[0], claims[1], "both name the same claim");
        let claimed = stack
            .http
            .post(&claims[0].url)
            .json(&serde_json::json!({ "code": claims[0].code }))
            .send()
            .await
            .unwrap();
        assert_eq!(claimed.status(), 200, "{}", commands[0]);
    }

    let unknown = clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "setup-code",
            "create",
            "--workspace",
            "acme",
            "--bot",
            "@ghost",
        ],
    )
    .await;
    assert_ne!(unknown.code, 0);
    assert!(unknown.stderr.contains("@ghost"), "{}", unknown.stderr);
}
