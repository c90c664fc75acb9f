//! App installations over real HTTP, in the shapes upstream's TypeScript
//! SDK sends and reads (`apps.list/install/revoke`): who may do what, the
//! one-live-installation rule, revoke options and their counts, the audit
//! trail, and a revoked token refused at once.

use clickclack_testkit::TestStack;
use serde_json::{Value, json};

fn install_path(workspace: &str) -> String {
    format!("/api/workspaces/{workspace}/app-installations")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_install_and_revoke_apps_members_list_them_bots_cannot() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("apps").await;
    let ws = boot.workspace.id.clone();
    let api = stack.api();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (_, member) = stack.member_session(&ws, "mia", "member").await;
    let (bot, bot_token) = stack.service_bot(&ws, "deployer", "bot:write").await;

    // Exactly the SDK's install body.
    let created = api
        .post(
            &install_path(&ws),
            Some(&owner),
            json!({"app_slug": "Deploy Bot", "bot_user_id": bot.id, "config": {"channel": "ops"}}),
        )
        .await
        .expect(201, "owner installs");
    let installation = &created["app_installation"];
    let id = installation["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("app_"), "{installation}");
    assert_eq!(installation["workspace_id"], ws.as_str());
    assert_eq!(installation["app_slug"], "deploy-bot");
    assert_eq!(installation["display_name"], "deploy-bot");
    assert_eq!(installation["bot_user_id"], bot.id.as_str());
    assert_eq!(installation["config"], json!({"channel": "ops"}));
    assert_eq!(installation["created_by"], boot.owner.id.as_str());
    assert!(installation.get("revoked_at").is_none(), "{installation}");

    // Members list; plain members cannot install; bot tokens can do neither.
    let listed = api
        .get(&install_path(&ws), Some(&member))
        .await
        .expect(200, "member lists");
    assert_eq!(listed["app_installations"], json!([installation]));
    api.post(
        &install_path(&ws),
        Some(&member),
        json!({"app_slug": "other", "bot_user_id": bot.id}),
    )
    .await
    .expect_error(403, "a plain member cannot install");
    api.get(&install_path(&ws), Some(&bot_token))
        .await
        .expect_error(403, "a bot token cannot list");
    api.post(
        &format!("/api/app-installations/{id}/revoke"),
        Some(&bot_token),
        json!({}),
    )
    .await
    .expect_error(403, "a bot token cannot revoke");

    // Bad input is 400, a second live installation of the slug 409.
    for (body, why) in [
        (
            json!({"app_slug": " - ", "bot_user_id": bot.id}),
            "blank slug",
        ),
        (
            json!({"app_slug": "x", "bot_user_id": boot.owner.id}),
            "a human is not a bot",
        ),
        (
            json!({"app_slug": "x", "bot_user_id": bot.id, "config": [1]}),
            "config not an object",
        ),
        (
            json!({"app_slug": "x", "bot_user_id": bot.id, "display_name": "n".repeat(81)}),
            "long name",
        ),
    ] {
        let error = api
            .post(&install_path(&ws), Some(&owner), body)
            .await
            .expect_error(400, why);
        assert!(!error.is_empty(), "{why}");
    }
    let error = api
        .post(
            &install_path(&ws),
            Some(&owner),
            json!({"app_slug": "deploy-bot", "bot_user_id": bot.id}),
        )
        .await
        .expect_error(409, "installed twice");
    assert!(error.contains("already installed"), "{error}");

    // The SDK's revoke: an empty object. Upstream's defaults keep the
    // bot's tokens working.
    api.post(
        &format!("/api/app-installations/{id}/revoke"),
        Some(&member),
        json!({}),
    )
    .await
    .expect_error(403, "a plain member cannot revoke");
    let revoked = api
        .post(
            &format!("/api/app-installations/{id}/revoke"),
            Some(&owner),
            json!({}),
        )
        .await
        .expect(200, "owner revokes");
    assert_eq!(revoked["app_installation"]["id"], id.as_str());
    assert_eq!(revoked["installation"], revoked["app_installation"]);
    assert!(
        revoked["installation"]["revoked_at"].is_string(),
        "{revoked}"
    );
    assert_eq!(
        revoked["revoked"],
        json!({"slash_commands": 0, "event_subscriptions": 0, "bot_tokens": 0})
    );
    api.get("/api/me", Some(&bot_token))
        .await
        .expect(200, "the bot's token still works");
    let listed = api
        .get(&install_path(&ws), Some(&owner))
        .await
        .expect(200, "list");
    assert_eq!(listed["app_installations"], json!([]));

    // Revoking again answers the installation with zero counts; the slug
    // may be installed anew; an unknown id is 404.
    let again = api
        .post(
            &format!("/api/app-installations/{id}/revoke"),
            Some(&owner),
            json!({"revoke_bot_tokens": true}),
        )
        .await
        .expect(200, "revoke twice");
    assert_eq!(again["revoked"]["bot_tokens"], 0);
    api.post(
        &install_path(&ws),
        Some(&owner),
        json!({"app_slug": "deploy-bot", "bot_user_id": bot.id}),
    )
    .await
    .expect(201, "reinstall after revoke");
    api.post(
        "/api/app-installations/app_nothing/revoke",
        Some(&owner),
        json!({}),
    )
    .await
    .expect_error(404, "unknown installation");

    // Both are in the audit trail.
    let audit = api
        .get(&format!("/api/workspaces/{ws}/audit-log"), Some(&owner))
        .await
        .expect(200, "audit log");
    let actions: Vec<&str> = audit["audit_log_entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["target_id"] == id.as_str())
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["app_installation.revoked", "app_installation.created"]
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_with_the_bot_tokens_refuses_them_at_once_and_delete_bot_removes_it() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("appsrevoke").await;
    let ws = boot.workspace.id.clone();
    let api = stack.api();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;

    // The edge, several times: a token just used (so cached) is refused by
    // the very next request after the revoke answers.
    for round in 0..4 {
        let (bot, token) = stack
            .service_bot(&ws, &format!("ci{round}"), "bot:read")
            .await;
        let installation = api
            .post(
                &install_path(&ws),
                Some(&owner),
                json!({"app_slug": "ci", "bot_user_id": bot.id}),
            )
            .await
            .expect(201, "install")["app_installation"]
            .clone();
        api.get("/api/me", Some(&token))
            .await
            .expect(200, "token works before");
        let revoked: Value = api
            .post(
                &format!(
                    "/api/app-installations/{}/revoke",
                    installation["id"].as_str().unwrap()
                ),
                Some(&owner),
                json!({"revoke_bot_tokens": true}),
            )
            .await
            .expect(200, "revoke with tokens");
        assert_eq!(revoked["revoked"]["bot_tokens"], 1, "round {round}");
        assert!(revoked.get("deleted_bot").is_none(), "{revoked}");
        api.get("/api/me", Some(&token))
            .await
            .expect_error(401, "revoked token");
    }

    let (bot, token) = stack.service_bot(&ws, "gone", "bot:read").await;
    let installation = api
        .post(
            &install_path(&ws),
            Some(&owner),
            json!({"app_slug": "gone", "bot_user_id": bot.id}),
        )
        .await
        .expect(201, "install")["app_installation"]
        .clone();
    let revoked = api
        .post(
            &format!(
                "/api/app-installations/{}/revoke",
                installation["id"].as_str().unwrap()
            ),
            Some(&owner),
            json!({"delete_bot": true}),
        )
        .await
        .expect(200, "revoke and delete the bot");
    assert_eq!(revoked["revoked"]["bot_tokens"], 1);
    assert_eq!(revoked["deleted_bot"]["id"], bot.id.as_str());
    assert_eq!(revoked["deleted_bot"]["former_handle"], "gone");
    api.get("/api/me", Some(&token))
        .await
        .expect_error(401, "the deleted bot's token");
    let bots = api
        .get(&format!("/api/workspaces/{ws}/bots"), Some(&owner))
        .await
        .expect(200, "bots");
    assert!(
        bots["bots"]
            .as_array()
            .unwrap()
            .iter()
            .all(|entry| entry["bot"]["id"] != bot.id.as_str()),
        "{bots}"
    );
    stack.stop().await;
}
