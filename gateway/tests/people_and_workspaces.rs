//! Human and workspace routes (API.md §2, §3, §6, §10): profiles, founding,
//! renaming, handing over and deleting workspaces, invites, the member list,
//! hidden DMs, the legacy bot routes and the event-type list. Sessions only:
//! every one of them refuses a bot token with 403.

use clickclack_testkit::TestStack;
use serde_json::json;

#[tokio::test]
async fn bot_tokens_get_403_on_every_human_route() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("humans-only").await;
    let ws = &boot.workspace.id;
    let (bot, token) = stack.service_bot(ws, "robot", "bot:admin").await;
    let api = stack.api();
    let dm = api
        .post(
            "/api/dms",
            Some(&token),
            json!({ "workspace_id": ws, "member_ids": [boot.owner.id] }),
        )
        .await
        .expect(201, "a DM")["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let calls = [
        (
            "PATCH",
            "/api/me".to_owned(),
            Some(json!({ "display_name": "x" })),
        ),
        (
            "POST",
            "/api/workspaces".to_owned(),
            Some(json!({ "name": "Mine" })),
        ),
        (
            "PATCH",
            format!("/api/workspaces/{ws}"),
            Some(json!({ "name": "x" })),
        ),
        ("DELETE", format!("/api/workspaces/{ws}"), None),
        (
            "POST",
            format!("/api/workspaces/{ws}/transfer-ownership"),
            Some(json!({ "user_id": bot.id })),
        ),
        ("GET", format!("/api/workspaces/{ws}/members"), None),
        (
            "POST",
            format!("/api/workspaces/{ws}/invites"),
            Some(json!({})),
        ),
        (
            "POST",
            "/api/invites/cci_abc/accept".to_owned(),
            Some(json!({})),
        ),
        ("DELETE", format!("/api/dms/{dm}"), None),
        ("POST", format!("/api/dms/{dm}/open"), Some(json!({}))),
        ("GET", format!("/api/bots/{}/tokens", bot.id), None),
        (
            "POST",
            format!("/api/bots/{}/tokens", bot.id),
            Some(json!({})),
        ),
        ("DELETE", format!("/api/bots/{}", bot.id), None),
    ];
    for (method, path, body) in calls {
        api.call(method.parse().unwrap(), &path, Some(&token), body.as_ref())
            .await
            .expect_error(403, &format!("{method} {path} with a bot token"));
    }
}

#[tokio::test]
async fn people_edit_their_profile_and_found_workspaces() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("profiles").await;
    let ws = &boot.workspace.id;
    let (ana, ana_session) = stack.member_session(ws, "ana", "member").await;
    let _ = stack.add_human(ws, "taken").await;
    let api = stack.api();

    let user = api
        .patch(
            "/api/me",
            Some(&ana_session),
            json!({ "display_name": "Ana Lopez", "handle": "@AnaL", "avatar_url": "https://img.test/a.png" }),
        )
        .await
        .expect(200, "edit profile")["user"]
        .clone();
    assert_eq!(user["id"], ana.id.as_str());
    assert_eq!(user["display_name"], "Ana Lopez");
    assert_eq!(user["handle"], "anal");
    assert_eq!(user["avatar_url"], "https://img.test/a.png");
    let me = api
        .get("/api/me", Some(&ana_session))
        .await
        .expect(200, "me");
    assert_eq!(me["user"]["handle"], "anal");
    api.patch("/api/me", Some(&ana_session), json!({ "handle": "taken" }))
        .await
        .expect_error(409, "a handle taken in her workspace");
    api.patch(
        "/api/me",
        Some(&ana_session),
        json!({ "avatar_url": "javascript:x" }),
    )
    .await
    .expect_error(400, "a non-http avatar");
    api.patch("/api/me", Some(&ana_session), json!({}))
        .await
        .expect_error(400, "nothing to change");

    // Founding a workspace: Ana owns it and it has #general.
    let founded = api
        .post(
            "/api/workspaces",
            Some(&ana_session),
            json!({ "name": "Ana's Lab" }),
        )
        .await
        .expect(201, "found a workspace")["workspace"]
        .clone();
    assert_eq!(founded["role"], "owner");
    let lab = founded["id"].as_str().unwrap();
    let channels = api
        .get(
            &format!("/api/workspaces/{lab}/channels"),
            Some(&ana_session),
        )
        .await
        .expect(200, "channels of the new workspace");
    assert_eq!(channels["channels"][0]["name"], "general");
    let mine = api
        .get("/api/workspaces", Some(&ana_session))
        .await
        .expect(200, "mine");
    assert_eq!(mine["workspaces"].as_array().unwrap().len(), 2);
    api.post(
        "/api/workspaces",
        Some(&ana_session),
        json!({ "name": "Again", "slug": "profiles" }),
    )
    .await
    .expect_error(409, "a taken slug");
    api.post("/api/workspaces", Some(&ana_session), json!({ "name": "" }))
        .await
        .expect_error(400, "no name");

    // Renaming: owners and moderators only.
    api.patch(
        &format!("/api/workspaces/{ws}"),
        Some(&ana_session),
        json!({ "name": "Nope" }),
    )
    .await
    .expect_error(403, "a plain member renames");
    let renamed = api
        .patch(
            &format!("/api/workspaces/{lab}"),
            Some(&ana_session),
            json!({ "name": "The Lab", "slug": "the-lab", "icon_url": "https://img.test/lab.png" }),
        )
        .await
        .expect(200, "rename")["workspace"]
        .clone();
    assert_eq!(renamed["name"], "The Lab");
    assert_eq!(renamed["slug"], "the-lab");
    assert_eq!(renamed["icon_url"], "https://img.test/lab.png");
    api.get("/api/workspaces/the-lab", Some(&ana_session))
        .await
        .expect(200, "the new slug works");
    api.patch(
        &format!("/api/workspaces/{lab}"),
        Some(&ana_session),
        json!({ "icon_url": "javascript:alert(1)" }),
    )
    .await
    .expect_error(400, "a non-http icon");
    api.patch(
        &format!("/api/workspaces/{lab}"),
        Some(&ana_session),
        json!({}),
    )
    .await
    .expect_error(400, "nothing to change");
}

#[tokio::test]
async fn invites_members_transfers_and_deletes() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("crew").await;
    let ws = &boot.workspace.id;
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (_, member_session) = stack.member_session(ws, "plain", "member").await;
    let (newcomer, newcomer_session) = stack.sign_in("newcomer@outside.test").await;
    let (_, bot_token) = stack.service_bot(ws, "crewbot", "bot:read").await;
    let api = stack.api();

    // Invites: owners and moderators make them; a link works once.
    api.post(
        &format!("/api/workspaces/{ws}/invites"),
        Some(&member_session),
        json!({}),
    )
    .await
    .expect_error(403, "a member invites");
    let invite = api
        .post(
            &format!("/api/workspaces/{ws}/invites"),
            Some(&owner),
            json!({}),
        )
        .await
        .expect(201, "invite")["invite"]
        .clone();
    assert!(invite["id"].as_str().unwrap().starts_with("inv_"));
    assert!(invite["expires_at"].is_string());
    let url = invite["url"].as_str().unwrap();
    let token = url
        .split("invite=")
        .nth(1)
        .expect("the token is in the url");
    api.get(&format!("/api/workspaces/{ws}"), Some(&newcomer_session))
        .await
        .expect_error(403, "not a member yet");
    let joined = api
        .post(
            &format!("/api/invites/{token}/accept"),
            Some(&newcomer_session),
            json!({}),
        )
        .await
        .expect(200, "accept")["workspace"]
        .clone();
    assert_eq!(joined["id"], ws.as_str());
    assert_eq!(joined["role"], "member");
    let (_, other_session) = stack.sign_in("second@outside.test").await;
    api.post(
        &format!("/api/invites/{token}/accept"),
        Some(&other_session),
        json!({}),
    )
    .await
    .expect_error(404, "a used invite");
    api.post(
        "/api/invites/cci_nothing/accept",
        Some(&other_session),
        json!({}),
    )
    .await
    .expect_error(404, "an unknown invite");

    // Members: humans and bots, with kind and role.
    let members = api
        .get(
            &format!("/api/workspaces/{ws}/members"),
            Some(&newcomer_session),
        )
        .await
        .expect(200, "members")["members"]
        .clone();
    let members = members.as_array().unwrap();
    let find = |id: &str| members.iter().find(|m| m["user"]["id"] == id).cloned();
    assert_eq!(find(&boot.owner.id).unwrap()["role"], "owner");
    assert_eq!(find(&newcomer.id).unwrap()["role"], "member");
    assert!(find(&newcomer.id).unwrap()["joined_at"].is_string());
    assert!(
        members
            .iter()
            .any(|m| m["user"]["kind"] == "bot" && m["role"] == "bot")
    );

    // Transfer: only the owner; the old owner stays as a moderator.
    api.post(
        &format!("/api/workspaces/{ws}/transfer-ownership"),
        Some(&member_session),
        json!({ "user_id": newcomer.id }),
    )
    .await
    .expect_error(403, "a member transfers");
    api.post(
        &format!("/api/workspaces/{ws}/transfer-ownership"),
        Some(&owner),
        json!({ "user_id": "usr_nobody" }),
    )
    .await
    .expect_error(404, "to a stranger");
    api.post(
        &format!("/api/workspaces/{ws}/transfer-ownership"),
        Some(&owner),
        json!({}),
    )
    .await
    .expect_error(400, "no user_id");
    api.post(
        &format!("/api/workspaces/{ws}/transfer-ownership"),
        Some(&owner),
        json!({ "user_id": newcomer.id }),
    )
    .await
    .expect(200, "transfer");
    let roles = api
        .get(&format!("/api/workspaces/{ws}/members"), Some(&owner))
        .await
        .expect(200, "members after")["members"]
        .clone();
    let role_of = |id: &str| {
        roles
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user"]["id"] == id)
            .unwrap()["role"]
            .clone()
    };
    assert_eq!(role_of(&newcomer.id), "owner");
    assert_eq!(role_of(&boot.owner.id), "moderator");

    // Delete: the new owner only; the workspace and its tokens stop at once.
    api.delete(&format!("/api/workspaces/{ws}"), Some(&owner))
        .await
        .expect_error(403, "a moderator deletes");
    api.get("/api/me", Some(&bot_token))
        .await
        .expect(200, "bot works before");
    let deleted = api
        .delete(&format!("/api/workspaces/{ws}"), Some(&newcomer_session))
        .await
        .expect(200, "delete")["workspace"]
        .clone();
    assert_eq!(deleted["id"], ws.as_str());
    let refused = api
        .get("/api/me", Some(&bot_token))
        .await
        .expect_error(401, "the bot's token stops at once");
    assert!(refused.contains("deleted"), "{refused}");
    api.get(&format!("/api/workspaces/{ws}"), Some(&owner))
        .await
        .expect_error(404, "gone for its people too");
    let left = api
        .get("/api/workspaces", Some(&owner))
        .await
        .expect(200, "list");
    assert!(left["workspaces"].as_array().unwrap().is_empty(), "{left}");
}

#[tokio::test]
async fn hidden_dms_come_back_with_the_next_message() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("quiet").await;
    let ws = &boot.workspace.id;
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (friend, friend_session) = stack.member_session(ws, "friend", "member").await;
    let api = stack.api();
    let dm = api
        .post(
            "/api/dms",
            Some(&owner),
            json!({ "workspace_id": ws, "member_ids": [friend.id] }),
        )
        .await
        .expect(201, "open")["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = |body: serde_json::Value| {
        body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == dm.as_str())
    };
    let hidden = api
        .delete(&format!("/api/dms/{dm}"), Some(&owner))
        .await
        .expect(200, "hide");
    assert_eq!(hidden["ok"], true);
    let list = api
        .get(&format!("/api/dms?workspace_id={ws}"), Some(&owner))
        .await
        .expect(200, "list");
    assert!(!listed(list), "hidden for the owner");
    let list = api
        .get(
            &format!("/api/dms?workspace_id={ws}"),
            Some(&friend_session),
        )
        .await
        .expect(200, "list");
    assert!(listed(list), "still there for the friend");

    api.post(
        &format!("/api/dms/{dm}/messages"),
        Some(&friend_session),
        json!({ "body": "ping" }),
    )
    .await
    .expect(201, "a new message");
    let list = api
        .get(&format!("/api/dms?workspace_id={ws}"), Some(&owner))
        .await
        .expect(200, "list");
    assert!(listed(list), "back after a new message");

    // Hidden again, then reopened explicitly.
    api.delete(&format!("/api/dms/{dm}"), Some(&owner))
        .await
        .expect(200, "hide again");
    let reopened = api
        .post(&format!("/api/dms/{dm}/open"), Some(&owner), json!({}))
        .await
        .expect(200, "reopen");
    assert_eq!(reopened["conversation"]["id"], dm.as_str());
    let list = api
        .get(&format!("/api/dms?workspace_id={ws}"), Some(&owner))
        .await
        .expect(200, "list");
    assert!(listed(list), "back after reopening");

    let (_, stranger) = stack.member_session(ws, "stranger", "member").await;
    api.delete(&format!("/api/dms/{dm}"), Some(&stranger))
        .await
        .expect_error(404, "not a member of the DM");
    api.post(&format!("/api/dms/{dm}/open"), Some(&stranger), json!({}))
        .await
        .expect_error(404, "reopening someone else's DM");
}

#[tokio::test]
async fn legacy_bot_routes_and_event_types() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("legacy").await;
    let ws = &boot.workspace.id;
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (bot, bot_token) = stack.service_bot(ws, "oldie", "bot:write").await;
    let (_, member_session) = stack.member_session(ws, "plain", "member").await;
    let api = stack.api();

    let minted = api
        .post(
            &format!("/api/bots/{}/tokens", bot.id),
            Some(&owner),
            json!({ "name": "second" }),
        )
        .await
        .expect(201, "legacy mint")["bot_token"]
        .clone();
    assert!(minted["token"].as_str().unwrap().starts_with("ccb_"));
    let tokens = api
        .get(&format!("/api/bots/{}/tokens", bot.id), Some(&owner))
        .await
        .expect(200, "legacy list")["bot_tokens"]
        .clone();
    assert_eq!(tokens.as_array().unwrap().len(), 2);
    api.get(&format!("/api/bots/{}/tokens", boot.owner.id), Some(&owner))
        .await
        .expect_error(404, "not a bot");

    api.delete(&format!("/api/bots/{}", bot.id), Some(&member_session))
        .await
        .expect_error(403, "a member deletes a service bot");
    let deleted = api
        .delete(&format!("/api/bots/{}", bot.id), Some(&owner))
        .await
        .expect(200, "delete the bot")["deleted_bot"]
        .clone();
    assert_eq!(deleted["id"], bot.id.as_str());
    assert_eq!(deleted["display_name"], "Bot oldie");
    assert_eq!(deleted["former_handle"], "oldie");
    assert!(deleted["deleted_at"].is_string());
    api.get("/api/me", Some(&bot_token))
        .await
        .expect_error(401, "its tokens stop");

    let types = api
        .get("/api/event-types", Some(&owner))
        .await
        .expect(200, "event types")["event_types"]
        .clone();
    let types = types.as_array().unwrap();
    let created = types
        .iter()
        .find(|t| t["type"] == "message.created")
        .unwrap();
    assert_eq!(created["durable"], true);
    assert!(
        created["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    let typing = types
        .iter()
        .find(|t| t["type"] == "typing.started")
        .unwrap();
    assert_eq!(typing["durable"], false);
}
