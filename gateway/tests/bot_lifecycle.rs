//! Bot lifecycle over real HTTP (API.md §10): human sessions, the
//! management API's permission matrix, rotation with grace, revocation
//! across gateway replicas, the audit log and command menus.

use clickclack_proto::identity as pb;
use clickclack_testkit::http::Method;
use clickclack_testkit::ws::{next_close_code, open_socket};
use clickclack_testkit::{Api, TestStack};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn call(
    stack: &TestStack,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    call_at(&stack.api(), method, path, token, body).await
}

async fn call_at(
    api: &Api,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let answer = api.call(method, path, token, body.as_ref()).await;
    (answer.status, answer.body)
}

async fn post(stack: &TestStack, path: &str, token: &str, body: Value) -> (u16, Value) {
    call(stack, Method::POST, path, Some(token), Some(body)).await
}

async fn get(stack: &TestStack, path: &str, token: &str) -> (u16, Value) {
    call(stack, Method::GET, path, Some(token), None).await
}

/// Reads frames until an event of `kind` arrives (panics after 3 s).
async fn next_of_type(socket: &mut clickclack_testkit::ws::Socket, kind: &str) -> Value {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event within 3 s"));
        if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) = frame {
            let event: Value = serde_json::from_str(&text).unwrap();
            if event["type"] == kind {
                return event;
            }
        }
    }
}

/// The status of `GET /api/me` on the gateway at `base`.
async fn status_of_me(stack: &TestStack, base: &str, token: &str) -> u16 {
    let api = Api::new(base, stack.http.clone());
    call_at(&api, Method::GET, "/api/me", Some(token), None)
        .await
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_magic_link_opens_a_session_once_and_logout_ends_it() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let email = boot.owner.email.clone().unwrap();
    let link = stack
        .identity()
        .await
        .create_magic_link(pb::CreateMagicLinkRequest {
            email: email.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(link.token.starts_with("mgt_"));
    assert!(!link.user_created);

    let consume = |token: String| {
        let stack = &stack;
        async move {
            call(
                stack,
                Method::POST,
                "/api/auth/magic/consume",
                None,
                Some(json!({ "token": token })),
            )
            .await
        }
    };
    let (status, body) = consume(link.token.clone()).await;
    assert_eq!(status, 200, "{body}");
    let session = body["session"]["token"].as_str().unwrap().to_owned();
    assert!(session.starts_with("sst_"));
    assert_eq!(body["token"], body["session"]["token"]);
    assert!(body["session"]["expires_at"].as_str().is_some());
    assert_eq!(body["user"]["id"], boot.owner.id.as_str());
    assert_eq!(body["user"]["kind"], "human");

    // A link works once; garbage and missing tokens are refused cleanly.
    assert_eq!(consume(link.token.clone()).await.0, 401);
    assert_eq!(consume(format!("mgt_{}", "A".repeat(43))).await.0, 401);
    assert_eq!(consume(String::new()).await.0, 400);

    // The session authenticates as the human across their workspaces.
    let (status, me) = get(&stack, "/api/me", &session).await;
    assert_eq!(
        (status, me["user"]["id"].as_str()),
        (200, Some(boot.owner.id.as_str()))
    );
    let (status, list) = get(&stack, "/api/workspaces", &session).await;
    assert_eq!(status, 200);
    assert_eq!(list["workspaces"][0]["id"], boot.workspace.id.as_str());
    assert_eq!(list["workspaces"][0]["role"], "owner");

    // A human can post where they are a member, and only there.
    let (status, posted) = post(
        &stack,
        &format!("/api/channels/{}/messages", boot.general.id),
        &session,
        json!({ "body": "hello from a person" }),
    )
    .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["message"]["author"]["kind"], "human");
    let other = stack.bootstrap("other").await;
    let (status, _) = get(
        &stack,
        &format!("/api/channels/{}/messages", other.general.id),
        &session,
    )
    .await;
    assert_eq!(status, 404, "another workspace's channel stays invisible");
    let (status, _) = get(
        &stack,
        &format!("/api/realtime/events?workspace_id={}", other.workspace.id),
        &session,
    )
    .await;
    assert_eq!(
        status, 403,
        "a workspace named outright answers 403 (API.md §8)"
    );
    let (status, _) = get(
        &stack,
        &format!("/api/realtime/events?workspace_id={}", boot.workspace.id),
        &session,
    )
    .await;
    assert_eq!(status, 200, "the human reads their own workspace's events");

    let (status, body) = post(&stack, "/api/auth/logout", &session, json!({})).await;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)));
    let started = Instant::now();
    while status_of_me(&stack, &stack.http_url, &session).await != 401 {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "logout took effect"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stack.stop().await;
}

/// Everyone the matrix asks about, in one workspace.
struct Cast {
    workspace: String,
    owner: String,
    moderator: String,
    member: String,
    /// A member who owns the user-owned bot.
    bot_owner: String,
    bot_owner_id: String,
    /// A signed-in human of another workspace.
    outsider: String,
    /// A service bot's own token.
    bot_token: String,
}

async fn cast(stack: &TestStack) -> Cast {
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (_, moderator) = stack.member_session(&ws, "mod", "moderator").await;
    let (_, member) = stack.member_session(&ws, "plain", "member").await;
    let (bot_owner_user, bot_owner) = stack.member_session(&ws, "builder", "member").await;
    let elsewhere = stack.bootstrap("elsewhere").await;
    let (_, outsider) = stack
        .sign_in(elsewhere.owner.email.as_deref().unwrap())
        .await;
    let (_, bot_token) = stack.service_bot(&ws, "ops", "bot:admin").await;
    Cast {
        workspace: ws,
        owner,
        moderator,
        member,
        bot_owner,
        bot_owner_id: bot_owner_user.id,
        outsider,
        bot_token,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_enforces_who_may_do_what() {
    let stack = TestStack::start().await;
    let c = cast(&stack).await;
    let bots_path = format!("/api/workspaces/{}/bots", c.workspace);
    let service_bot =
        |handle: &str| json!({ "display_name": handle, "handle": handle, "scopes": "bot:read" });

    // Create a service bot: owners and moderators only.
    for (who, token, expected) in [
        ("member", &c.member, 403),
        ("bot token", &c.bot_token, 403),
        ("outsider", &c.outsider, 403),
        ("bot owner", &c.bot_owner, 403),
        ("owner", &c.owner, 201),
        ("moderator", &c.moderator, 201),
    ] {
        let (status, body) = post(
            &stack,
            &bots_path,
            token,
            service_bot(&format!("svc-{}", who.replace(' ', "-"))),
        )
        .await;
        assert_eq!(status, expected, "{who} creating a service bot: {body}");
        if status == 201 {
            assert!(
                body["bot_token"]["token"]
                    .as_str()
                    .unwrap()
                    .starts_with("ccb_")
            );
            assert_eq!(body["bot_token"]["scopes"].as_array().unwrap().len(), 7);
            assert!(body["bot_token"].get("token_hash").is_none());
        } else {
            assert!(body["error"].as_str().is_some(), "{body}");
        }
    }

    // A user-owned bot: only its owner creates it, for themselves.
    let owned = json!({ "display_name": "Helper", "handle": "helper", "owner_user_id": c.bot_owner_id, "scopes": ["bot:write"] });
    let (status, _) = post(&stack, &bots_path, &c.moderator, owned.clone()).await;
    assert_eq!(
        status, 403,
        "a moderator cannot make a bot owned by someone else"
    );
    let (status, created) = post(&stack, &bots_path, &c.bot_owner, owned).await;
    assert_eq!(status, 201, "{created}");
    let owned_bot = created["bot"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["bot"]["owner_user_id"], c.bot_owner_id.as_str());
    let owned_token_id = created["bot_token"]["id"].as_str().unwrap().to_owned();

    let (_, created) = post(&stack, &bots_path, &c.owner, service_bot("deploy")).await;
    let service = created["bot"]["id"].as_str().unwrap().to_owned();
    let service_token_id = created["bot_token"]["id"].as_str().unwrap().to_owned();

    // List: managers see every bot, members only their own.
    let handles = |body: &Value| -> Vec<String> {
        body["bots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["bot"]["handle"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, all) = get(&stack, &bots_path, &c.owner).await;
    assert_eq!(status, 200);
    assert!(
        handles(&all).contains(&"helper".to_owned())
            && handles(&all).contains(&"deploy".to_owned())
    );
    for entry in all["bots"].as_array().unwrap() {
        for token in entry["tokens"].as_array().unwrap() {
            assert!(token.get("token").is_none() && token.get("token_hash").is_none());
        }
    }
    let (status, mine) = get(&stack, &bots_path, &c.bot_owner).await;
    assert_eq!((status, handles(&mine)), (200, vec!["helper".to_owned()]));
    let (status, none) = get(&stack, &bots_path, &c.member).await;
    assert_eq!((status, handles(&none).len()), (200, 0));
    assert_eq!(get(&stack, &bots_path, &c.bot_token).await.0, 403);
    assert_eq!(get(&stack, &bots_path, &c.outsider).await.0, 403);

    // Mint: service bots by managers; a user-owned bot only by its owner.
    let mint = |bot: &str| format!("/api/workspaces/{}/bots/{bot}/tokens", c.workspace);
    for (who, token, bot, expected) in [
        ("member", &c.member, &service, 403),
        ("bot owner", &c.bot_owner, &service, 403),
        ("bot token", &c.bot_token, &service, 403),
        ("outsider", &c.outsider, &service, 403),
        ("moderator", &c.moderator, &service, 201),
        ("owner", &c.owner, &service, 201),
        ("workspace owner", &c.owner, &owned_bot, 403),
        ("moderator", &c.moderator, &owned_bot, 403),
        ("member", &c.member, &owned_bot, 403),
        ("bot owner", &c.bot_owner, &owned_bot, 201),
    ] {
        let (status, body) = post(&stack, &mint(bot), token, json!({ "name": "ci" })).await;
        assert_eq!(status, expected, "{who} minting for {bot}: {body}");
    }
    let (status, listed) = get(&stack, &mint(&owned_bot), &c.bot_owner).await;
    assert_eq!(status, 200);
    assert_eq!(
        listed["bot_tokens"].as_array().unwrap().len(),
        2,
        "{listed}"
    );
    assert_eq!(get(&stack, &mint(&owned_bot), &c.member).await.0, 403);

    // Revoke: managers for service bots; the owner (and, to stop a runaway
    // bot, managers) for a user-owned one; never plain members or bots. A
    // token the caller may not see is "not found", like a missing one.
    let revoke = |id: &str| format!("/api/bot-tokens/{id}/revoke");
    for (who, token, id, expected) in [
        ("member", &c.member, &service_token_id, 404),
        ("bot token", &c.bot_token, &service_token_id, 403),
        ("outsider", &c.outsider, &service_token_id, 404),
        ("member", &c.member, &owned_token_id, 404),
        ("bot owner", &c.bot_owner, &owned_token_id, 200),
        ("moderator", &c.moderator, &service_token_id, 200),
    ] {
        let (status, body) = post(&stack, &revoke(id), token, json!({})).await;
        assert_eq!(status, expected, "{who} revoking {id}: {body}");
        if status == 200 {
            assert!(body["bot_token"]["revoked_at"].as_str().is_some());
        }
    }
    assert_eq!(
        post(&stack, &revoke("btok_unknown"), &c.owner, json!({}))
            .await
            .0,
        404
    );

    // GET /api/me/bots: the bots a human owns, with their live tokens.
    let (status, mine) = get(&stack, "/api/me/bots", &c.bot_owner).await;
    assert_eq!(status, 200);
    let mine = mine["bots"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["bot"]["id"], owned_bot.as_str());
    assert_eq!(mine[0]["active_token_count"], 1, "one minted, one revoked");
    assert_eq!(mine[0]["workspace"]["id"], c.workspace.as_str());

    // Remove: owners and moderators only.
    let membership = |bot: &str| format!("/api/workspaces/{}/bots/{bot}/membership", c.workspace);
    for (who, token, expected) in [
        ("member", &c.member, 403),
        ("bot owner", &c.bot_owner, 403),
        ("bot token", &c.bot_token, 403),
        ("outsider", &c.outsider, 403),
        ("moderator", &c.moderator, 204),
    ] {
        let (status, body) = call(
            &stack,
            Method::DELETE,
            &membership(&owned_bot),
            Some(token),
            None,
        )
        .await;
        assert_eq!(status, expected, "{who} removing a bot: {body}");
    }
    let (_, after) = get(&stack, &bots_path, &c.owner).await;
    assert!(!handles(&after).contains(&"helper".to_owned()));
    assert_eq!(
        call(
            &stack,
            Method::DELETE,
            &membership(&owned_bot),
            Some(&c.owner),
            None
        )
        .await
        .0,
        404,
        "removing twice finds nothing"
    );

    // GET /api/me/bots: only bots still installed.
    let (status, mine) = get(&stack, "/api/me/bots", &c.bot_owner).await;
    assert_eq!((status, mine["bots"].as_array().unwrap().len()), (200, 0));
    assert_eq!(get(&stack, "/api/me/bots", &c.bot_token).await.0, 403);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_the_old_token_for_the_grace_period_only() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (_, created) = post(
        &stack,
        &format!("/api/workspaces/{ws}/bots"),
        &owner,
        json!({ "display_name": "Deploy", "token_name": "prod" }),
    )
    .await;
    let old = created["bot_token"]["token"].as_str().unwrap().to_owned();
    let old_id = created["bot_token"]["id"].as_str().unwrap().to_owned();
    let mut socket = open_socket(&stack.http_url, &format!("workspace_id={ws}"), &old).await;

    let grace = 2;
    let (status, rotated) = post(
        &stack,
        &format!("/api/bot-tokens/{old_id}/rotate"),
        &owner,
        json!({ "grace_seconds": grace }),
    )
    .await;
    let rotated_at = Instant::now();
    assert_eq!(status, 201, "{rotated}");
    let new = rotated["bot_token"]["token"].as_str().unwrap().to_owned();
    assert_eq!(rotated["bot_token"]["name"], "prod");
    assert_eq!(
        rotated["bot_token"]["scopes"],
        created["bot_token"]["scopes"]
    );
    assert_eq!(rotated["bot_token"]["replaces_token_id"], old_id.as_str());
    assert!(rotated["replaced"]["revoked_at"].as_str().is_some());

    // During the grace period both work.
    assert_eq!(status_of_me(&stack, &stack.http_url, &old).await, 200);
    assert_eq!(status_of_me(&stack, &stack.http_url, &new).await, 200);
    // A second rotation of the same token is refused.
    let (status, _) = post(
        &stack,
        &format!("/api/bot-tokens/{old_id}/rotate"),
        &owner,
        json!({}),
    )
    .await;
    assert_eq!(status, 409);

    // At the end of grace the socket on the old token closes with 1008...
    assert_eq!(
        next_close_code(&mut socket, Duration::from_secs(grace + 2)).await,
        1008
    );
    assert!(rotated_at.elapsed() >= Duration::from_secs(grace) - Duration::from_millis(100));
    // ...and only the new token works.
    assert_eq!(status_of_me(&stack, &stack.http_url, &old).await, 401);
    assert_eq!(status_of_me(&stack, &stack.http_url, &new).await, 200);

    // Operators see which token is still in use.
    let (_, tokens) = get(
        &stack,
        &format!(
            "/api/workspaces/{ws}/bots/{}/tokens",
            created["bot"]["id"].as_str().unwrap()
        ),
        &owner,
    )
    .await;
    let tokens = tokens["bot_tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(
        tokens.iter().all(|t| t["last_used_at"].as_str().is_some()),
        "{tokens:?}"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_reaches_every_gateway_within_a_second() {
    let stack = TestStack::start().await;
    let replica = stack.start_replica().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let gateways = [stack.http_url.clone(), replica.http_url()];
    let mut measured = Vec::new();

    for round in 0..3 {
        let (_, created) = post(
            &stack,
            &format!("/api/workspaces/{ws}/bots"),
            &owner,
            json!({ "display_name": format!("Bot {round}") }),
        )
        .await;
        let token = created["bot_token"]["token"].as_str().unwrap().to_owned();
        let token_id = created["bot_token"]["id"].as_str().unwrap().to_owned();
        let mut sockets = Vec::new();
        for base in &gateways {
            // Warm each gateway's cache so a stale entry would show.
            for _ in 0..3 {
                assert_eq!(status_of_me(&stack, base, &token).await, 200);
            }
            sockets.push(open_socket(base, &format!("workspace_id={ws}"), &token).await);
        }

        let (status, _) = post(
            &stack,
            &format!("/api/bot-tokens/{token_id}/revoke"),
            &owner,
            json!({}),
        )
        .await;
        assert_eq!(status, 200);
        let revoked = Instant::now();
        let mut refused = [None, None];
        while refused.iter().any(Option::is_none) {
            for (i, base) in gateways.iter().enumerate() {
                if refused[i].is_none() && status_of_me(&stack, base, &token).await == 401 {
                    refused[i] = Some(revoked.elapsed());
                }
            }
            assert!(
                revoked.elapsed() < Duration::from_secs(1),
                "both gateways refuse within 1 s: {refused:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for socket in &mut sockets {
            assert_eq!(next_close_code(socket, Duration::from_secs(1)).await, 1008);
        }
        let slowest = refused.iter().flatten().max().copied().unwrap();
        measured.push(slowest);
    }
    eprintln!("revocation refused by both gateways after: {measured:?}");
    replica.stop().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_an_owner_disables_their_bot_on_every_gateway_at_once() {
    let stack = TestStack::start().await;
    let replica = stack.start_replica().await;
    let boot = stack.bootstrap("acme").await;
    let ws = boot.workspace.id.as_str();
    let (owner_user, owner) = stack.member_session(ws, "builder", "member").await;
    let (_, created) = post(
        &stack,
        &format!("/api/workspaces/{ws}/bots"),
        &owner,
        json!({ "display_name": "Mine", "owner_user_id": owner_user.id }),
    )
    .await;
    let token = created["bot_token"]["token"].as_str().unwrap().to_owned();
    for base in [stack.http_url.clone(), replica.http_url()] {
        assert_eq!(status_of_me(&stack, &base, &token).await, 200);
    }
    stack
        .identity()
        .await
        .remove_member(pb::RemoveMemberRequest {
            workspace: ws.into(),
            user_id: owner_user.id.clone(),
        })
        .await
        .unwrap();
    let removed = Instant::now();
    for base in [stack.http_url.clone(), replica.http_url()] {
        while status_of_me(&stack, &base, &token).await != 401 {
            assert!(removed.elapsed() < Duration::from_secs(1));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    eprintln!(
        "owner removal refused on both gateways after {:?}",
        removed.elapsed()
    );
    replica.stop().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bot_change_is_in_the_audit_log() {
    let stack = TestStack::start().await;
    let c = cast(&stack).await;
    let bots_path = format!("/api/workspaces/{}/bots", c.workspace);
    let (_, created) = post(
        &stack,
        &bots_path,
        &c.owner,
        json!({ "display_name": "Deploy" }),
    )
    .await;
    let bot = created["bot"]["id"].as_str().unwrap().to_owned();
    let first = created["bot_token"]["id"].as_str().unwrap().to_owned();
    let (_, minted) = post(
        &stack,
        &format!("{bots_path}/{bot}/tokens"),
        &c.owner,
        json!({"name": "ci"}),
    )
    .await;
    let second = minted["bot_token"]["id"].as_str().unwrap().to_owned();
    post(
        &stack,
        &format!("/api/bot-tokens/{first}/rotate"),
        &c.moderator,
        json!({ "grace_seconds": 60 }),
    )
    .await;
    post(
        &stack,
        &format!("/api/bot-tokens/{second}/revoke"),
        &c.owner,
        json!({}),
    )
    .await;
    call(
        &stack,
        Method::DELETE,
        &format!("{bots_path}/{bot}/membership"),
        Some(&c.moderator),
        None,
    )
    .await;

    let audit = format!("/api/workspaces/{}/audit-log", c.workspace);
    let (status, log) = get(&stack, &audit, &c.owner).await;
    assert_eq!(status, 200, "{log}");
    let entries = log["audit_log_entries"].as_array().unwrap();
    let find = |action: &str, target: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action && e["target_id"] == target)
            .unwrap_or_else(|| panic!("no {action} of {target} in {entries:?}"))
            .clone()
    };
    let owner_id = get(&stack, "/api/me", &c.owner).await.1["user"]["id"].clone();
    let moderator_id = get(&stack, "/api/me", &c.moderator).await.1["user"]["id"].clone();
    assert_eq!(find("bot.created", &bot)["actor_user_id"], owner_id);
    assert_eq!(
        find("bot_token.created", &second)["actor_user_id"],
        owner_id
    );
    let rotated = find("bot_token.rotated", &first);
    assert_eq!(rotated["actor_user_id"], moderator_id);
    assert_eq!(rotated["detail"]["grace_seconds"], 60);
    assert_eq!(
        find("bot_token.revoked", &second)["actor_user_id"],
        owner_id
    );
    let removed = find("bot.removed", &bot);
    assert_eq!(removed["actor_user_id"], moderator_id);
    assert_eq!(
        removed["detail"]["revoked_tokens"], 2,
        "the rotated-in token and the one in grace"
    );
    assert!(entries.iter().all(|e| e["created_at"].as_str().is_some()));
    // Newest first.
    assert_eq!(entries[0]["action"], "bot.removed");

    assert_eq!(get(&stack, &audit, &c.member).await.0, 403);
    assert_eq!(get(&stack, &audit, &c.bot_token).await.0, 403);
    assert_eq!(get(&stack, &audit, &c.outsider).await.0, 403);
    assert_eq!(
        get(&stack, &format!("{audit}?limit=0"), &c.owner).await.0,
        400
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_publish_command_menus_that_go_with_them() {
    let stack = TestStack::start().await;
    let c = cast(&stack).await;
    let put = |token: &str, body: Value| {
        let (stack, token) = (&stack, token.to_owned());
        async move {
            call(
                stack,
                Method::PUT,
                "/api/bots/self/commands",
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    let mut watcher = open_socket(
        &stack.http_url,
        &format!("workspace_id={}", c.workspace),
        &c.member,
    )
    .await;
    let (status, body) = put(
        &c.bot_token,
        json!({ "commands": [
            { "command": "Deploy", "description": "Ship it", "args_hint": "<env>" },
            { "command": "/status", "description": "What is running" },
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let commands = body["bot_commands"].as_array().unwrap();
    assert_eq!(commands[0]["command"], "/deploy");
    assert_eq!(commands[0]["args_hint"], "<env>");
    assert_eq!(commands[1]["command"], "/status");
    // Members' clients learn of the new menu live (no cursor: never replayed).
    let updated = next_of_type(&mut watcher, "bot_command.updated").await;
    assert_eq!(updated["cursor"], "");
    assert_eq!(updated["payload"]["command_count"], 2);

    let listing = format!("/api/workspaces/{}/bot-commands", c.workspace);
    let (status, listed) = get(&stack, &listing, &c.member).await;
    assert_eq!(
        (status, listed["bot_commands"].as_array().unwrap().len()),
        (200, 2)
    );
    assert_eq!(get(&stack, &listing, &c.bot_token).await.0, 200);
    assert_eq!(get(&stack, &listing, &c.outsider).await.0, 403);

    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({ "command": format!("c{i}"), "description": "x" }))
        .collect();
    for bad in [
        json!({ "commands": too_many }),
        json!({ "commands": [{ "command": "a", "description": "x" }, { "command": "/A", "description": "y" }] }),
        json!({ "commands": [{ "command": "a", "description": "x".repeat(101) }] }),
        json!({ "commands": [{ "command": "a b", "description": "x" }] }),
        json!({ "commands": [{ "command": "a", "description": "" }] }),
        json!({}),
    ] {
        assert_eq!(put(&c.bot_token, bad.clone()).await.0, 400, "{bad}");
    }
    assert_eq!(
        put(&c.owner, json!({ "commands": [] })).await.0,
        403,
        "sessions publish no menus"
    );
    let (_, read_only) = stack.service_bot(&c.workspace, "reader", "bot:read").await;
    assert_eq!(
        put(&read_only, json!({ "commands": [] })).await.0,
        403,
        "needs commands:write"
    );
    // The failed attempts changed nothing.
    assert_eq!(
        get(&stack, &listing, &c.member).await.1["bot_commands"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Removing the bot deletes its menu with it.
    let me = get(&stack, "/api/me", &c.bot_token).await.1;
    let bot_id = me["user"]["id"].as_str().unwrap();
    let (status, _) = call(
        &stack,
        Method::DELETE,
        &format!("/api/workspaces/{}/bots/{bot_id}/membership", c.workspace),
        Some(&c.owner),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let removed = next_of_type(&mut watcher, "bot.membership_removed").await;
    assert_eq!(removed["cursor"], "");
    assert_eq!(removed["payload"]["bot_user_id"], bot_id);
    assert_eq!(
        get(&stack, &listing, &c.member).await.1["bot_commands"],
        json!([])
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_to_the_new_routes_gets_its_status_and_an_error_body() {
    let stack = TestStack::start().await;
    let c = cast(&stack).await;
    let bots_path = format!("/api/workspaces/{}/bots", c.workspace);
    let (_, created) = post(
        &stack,
        &bots_path,
        &c.owner,
        json!({ "display_name": "Deploy" }),
    )
    .await;
    let bot = created["bot"]["id"].as_str().unwrap().to_owned();
    let token_id = created["bot_token"]["id"].as_str().unwrap().to_owned();
    let other = stack.bootstrap("other").await;
    let (foreign_bot, _) = stack
        .service_bot(&other.workspace.id, "foreign", "bot:read")
        .await;

    let cases: Vec<(&str, String, Value, u16)> = vec![
        (
            "no display name",
            bots_path.clone(),
            json!({ "handle": "x" }),
            400,
        ),
        (
            "unknown scope",
            bots_path.clone(),
            json!({ "display_name": "X", "scopes": "bot:everything" }),
            400,
        ),
        (
            "scopes of the wrong type",
            bots_path.clone(),
            json!({ "display_name": "X", "scopes": 7 }),
            400,
        ),
        (
            "bad handle",
            bots_path.clone(),
            json!({ "display_name": "X", "handle": "no spaces" }),
            400,
        ),
        (
            "mint an unknown scope",
            format!("{bots_path}/{bot}/tokens"),
            json!({ "scopes": ["nope"] }),
            400,
        ),
        (
            "mint for another workspace's bot",
            format!("{bots_path}/{}/tokens", foreign_bot.id),
            json!({}),
            404,
        ),
        (
            "grace over 7 days",
            format!("/api/bot-tokens/{token_id}/rotate"),
            json!({ "grace_seconds": 8 * 86_400 }),
            400,
        ),
        (
            "rotate an unknown token",
            "/api/bot-tokens/btok_unknown/rotate".into(),
            json!({}),
            404,
        ),
    ];
    for (what, path, body, expected) in cases {
        let (status, answer) = post(&stack, &path, &c.owner, body).await;
        assert_eq!(status, expected, "{what}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {answer}"
        );
    }
    for email in ["", "not-an-email"] {
        let (status, answer) = call(
            &stack,
            Method::POST,
            "/api/auth/magic/request",
            None,
            Some(json!({ "email": email })),
        )
        .await;
        assert_eq!(status, 400, "{email:?}: {answer}");
        assert!(answer["error"].as_str().is_some());
    }
    // A body that is not JSON at all is refused with a JSON error too.
    let answer = stack
        .api()
        .send(
            Method::POST,
            &bots_path,
            Some(&c.owner),
            "application/json",
            "{not json",
        )
        .await;
    assert_eq!(answer.status, 400);
    let answer = answer.body;
    assert!(answer["error"].as_str().is_some(), "{answer}");
    // Removing a bot of another workspace finds nothing.
    let (status, _) = call(
        &stack,
        Method::DELETE,
        &format!("{bots_path}/{}/membership", foreign_bot.id),
        Some(&c.owner),
        None,
    )
    .await;
    assert_eq!(status, 404);
    stack.stop().await;
}
