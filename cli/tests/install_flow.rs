//! The bot-install flow of the README, end to end: the built `clickclack`
//! binary talks gRPC to identity, and the bot's token is used over real HTTP.

mod support;

use clickclack_testkit::{TestStack, capture_logs};
use std::time::Duration;
use support::{clickclack, wait_for_status};

/// The gateway reuses an authentication for at most 500 ms; allow twice that.
const REVOCATION_BOUND: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_bot_install_flow_works_and_never_logs_the_token() {
    let logs = capture_logs();
    let stack = TestStack::start().await;
    let api = stack.api();

    let boot = clickclack(
        &stack,
        &[
            "admin",
            "bootstrap",
            "--name",
            "Ada Owner",
            "--email",
            "ada@example.com",
            "--workspace-name",
            "Acme",
            "--workspace-slug",
            "acme",
            "--json",
        ],
    )
    .await
    .json();
    let workspace_id = boot["workspace"]["id"].as_str().unwrap().to_owned();
    let owner_id = boot["owner"]["id"].as_str().unwrap().to_owned();
    assert!(workspace_id.starts_with("wsp_"));
    assert!(owner_id.starts_with("usr_"));
    assert_eq!(
        boot["channel"]["name"], "general",
        "bootstrap creates #general: {boot}"
    );
    assert_eq!(boot["channel"]["workspace_id"], workspace_id.as_str());

    // The seed's command, --data included.
    let created = clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "create",
            "--data",
            "/var/lib/clickclack",
            "--workspace",
            &workspace_id,
            "--created-by",
            &owner_id,
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
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert!(
        created.stderr.contains("gRPC"),
        "--data is explained: {}",
        created.stderr
    );
    let token = created
        .stdout
        .strip_suffix('\n')
        .expect("token ends with a newline");
    assert!(token.starts_with("ccb_"), "--plain prints only the token");
    assert!(
        !token.contains(char::is_whitespace),
        "--plain prints only the token"
    );

    let me = api
        .get("/api/me", Some(token))
        .await
        .expect(200, "GET /api/me");
    assert_eq!(me["user"]["kind"], "bot");
    assert_eq!(me["user"]["handle"], "openclaw-service");
    assert_eq!(me["user"]["display_name"], "OpenClaw Service");
    assert!(
        me["user"].get("owner_user_id").is_none(),
        "a service bot has no owner: {me}"
    );

    let list = api
        .get("/api/workspaces", Some(token))
        .await
        .expect(200, "GET /api/workspaces");
    let workspaces = list["workspaces"].as_array().unwrap();
    assert_eq!(workspaces.len(), 1, "exactly the bot's workspace: {list}");
    assert_eq!(workspaces[0]["id"], workspace_id.as_str());
    assert_eq!(workspaces[0]["slug"], "acme");
    assert_eq!(workspaces[0]["role"], "bot");

    let by_slug = api
        .get("/api/workspaces/acme", Some(token))
        .await
        .expect(200, "GET /api/workspaces/acme");
    assert_eq!(by_slug["workspace"]["id"], workspace_id.as_str());

    let recorded = logs.contents();
    assert!(recorded.contains("created bot"), "logs were captured");
    assert!(
        !recorded.contains(token),
        "the raw token appeared in a log line"
    );
    assert!(
        !created.stderr.contains(token),
        "the raw token appeared on stderr"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_owned_bot_stops_working_while_its_owner_is_not_a_member() {
    let stack = TestStack::start().await;
    let api = stack.api();
    let boot = stack.bootstrap("team").await;
    let peter = clickclack(
        &stack,
        &[
            "admin",
            "user",
            "create",
            "--name",
            "Peter",
            "--email",
            "peter@example.com",
            "--json",
        ],
    )
    .await
    .json();
    let peter_id = peter["user"]["id"].as_str().unwrap().to_owned();
    let added = clickclack(
        &stack,
        &[
            "admin",
            "member",
            "add",
            "--workspace",
            "team",
            "--user",
            &peter_id,
            "--json",
        ],
    )
    .await
    .json();
    assert_eq!(added["member"]["role"], "member");

    let created = clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "create",
            "--workspace",
            &boot.workspace.id,
            "--owner",
            &peter_id,
            "--created-by",
            &peter_id,
            "--name",
            "Peter's OpenClaw",
            "--handle",
            "peter-openclaw",
            "--scopes",
            "bot:write",
            "--token-name",
            "openclaw-personal",
            "--plain",
        ],
    )
    .await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    let token = created.stdout.trim().to_owned();

    let me = api
        .get("/api/me", Some(&token))
        .await
        .expect(200, "GET /api/me");
    assert_eq!(me["user"]["owner_user_id"], peter_id.as_str());
    assert_eq!(me["user"]["kind"], "bot");

    let removed = clickclack(
        &stack,
        &[
            "admin",
            "member",
            "remove",
            "--workspace",
            "team",
            "--user",
            &peter_id,
        ],
    )
    .await;
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    let took = wait_for_status(&stack, "/api/me", &token, REVOCATION_BOUND, |s| {
        s == 401 || s == 403
    })
    .await;
    eprintln!("owner removal took effect after {took:?}");
    let routes = [
        "/api/me".to_owned(),
        "/api/workspaces".to_owned(),
        format!("/api/workspaces/{}", boot.workspace.id),
    ];
    for route in &routes {
        let answer = api.get(route, Some(&token)).await;
        assert!(
            answer.status == 401 || answer.status == 403,
            "{route} answered {} while the owner is out",
            answer.status
        );
        let body = answer.body;
        assert!(body["error"].as_str().unwrap().contains("owner"), "{body}");
    }

    let readded = clickclack(
        &stack,
        &[
            "admin",
            "member",
            "add",
            "--workspace",
            "team",
            "--user",
            &peter_id,
        ],
    )
    .await;
    assert_eq!(readded.code, 0, "{}", readded.stderr);
    for route in &routes {
        assert_eq!(
            api.get(route, Some(&token)).await.status,
            200,
            "{route} works again"
        );
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_lifecycle_create_list_revoke_through_the_cli() {
    let stack = TestStack::start().await;
    let api = stack.api();
    let boot = stack.bootstrap("ops").await;
    let created = clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "create",
            "--workspace",
            "ops",
            "--name",
            "Deployer",
            "--handle",
            "deployer",
            "--scopes",
            "bot:read",
            "--token-name",
            "first",
            "--json",
        ],
    )
    .await
    .json();
    let first = created["token"].as_str().unwrap().to_owned();
    let bot_id = created["bot"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["bot_token"]["workspace_id"],
        boot.workspace.id.as_str()
    );
    assert_eq!(created["bot_token"]["name"], "first");
    assert!(created["bot_token"].get("token_hash").is_none());
    assert!(
        created["bot_token"]["id"]
            .as_str()
            .unwrap()
            .starts_with("btok_")
    );

    let second = clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "create",
            "--bot",
            &bot_id,
            "--name",
            "second",
            "--scopes",
            "bot:admin",
            "--plain",
        ],
    )
    .await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    let second = second.stdout.trim().to_owned();
    assert_ne!(first, second);

    let listed = clickclack(
        &stack,
        &["admin", "bot", "token", "list", "--bot", &bot_id, "--json"],
    )
    .await;
    assert!(
        !listed.stdout.contains(&first) && !listed.stdout.contains(&second),
        "no raw token in listings"
    );
    let listed = listed.json();
    let tokens = listed["bot_tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0]["name"], "second", "newest first");
    assert!(
        tokens[0]["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "channels:write")
    );
    let first_id = tokens[1]["id"].as_str().unwrap().to_owned();

    // The first token is used, so it gains a last_used_at.
    assert_eq!(api.get("/api/me", Some(&first)).await.status, 200);
    let listed = clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "list",
            "--bot",
            &bot_id,
            "--workspace",
            "ops",
            "--json",
        ],
    )
    .await
    .json();
    assert!(
        listed["bot_tokens"][1]["last_used_at"].is_string(),
        "{listed}"
    );

    let revoked = clickclack(
        &stack,
        &[
            "admin",
            "bot",
            "token",
            "revoke",
            "--token-id",
            &first_id,
            "--json",
        ],
    )
    .await
    .json();
    assert!(revoked["bot_token"]["revoked_at"].is_string());
    wait_for_status(&stack, "/api/me", &first, REVOCATION_BOUND, |s| s == 401).await;
    let body = api.get("/api/me", Some(&first)).await.body;
    assert_eq!(body["error"], "token has been revoked");
    assert_eq!(
        api.get("/api/me", Some(&second)).await.status,
        200,
        "other tokens keep working"
    );

    let bots = clickclack(
        &stack,
        &["admin", "bot", "list", "--workspace", "ops", "--json"],
    )
    .await
    .json();
    assert_eq!(bots["bots"][0]["bot"]["id"], bot_id.as_str());
    assert_eq!(bots["bots"][0]["tokens"].as_array().unwrap().len(), 2);
    stack.stop().await;
}
