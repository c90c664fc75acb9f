//! Bot setup codes (a bot install without pasting a token) and magic links
//! delivered over real SMTP (API.md §10).

use clickclack_gateway::limits::LimitsConfig;
use clickclack_testkit::smtp::SmtpSink;
use clickclack_testkit::{MailConfig, TestStack};
use serde_json::json;
use std::time::Duration;

/// The alphabet the OpenClaw extension requires of a setup code.
const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The OpenClaw extension's own check before it calls the server: trimmed,
/// upper-cased, without dashes and spaces, 12 characters of [`CROCKFORD`].
fn openclaw_accepts(code: &str) -> bool {
    let code = code.trim().to_uppercase().replace(['-', ' '], "");
    code.len() == 12 && code.chars().all(|c| CROCKFORD.contains(c))
}

#[tokio::test]
async fn every_setup_code_is_one_openclaw_accepts_and_claims_take_what_people_type() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("crockford").await;
    let ws = &boot.workspace.id;
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let api = stack.api();
    let bot_id = api
        .post(
            &format!("/api/workspaces/{ws}/bots"),
            Some(&owner),
            json!({ "display_name": "OpenClaw", "handle": "openclaw" }),
        )
        .await
        .expect(201, "create bot")["bot"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut codes = Vec::new();
    for _ in 0..60 {
        let minted = api
            .post(
                &format!("/api/workspaces/{ws}/bots/{bot_id}/setup-codes"),
                Some(&owner),
                json!({}),
            )
            .await
            .expect(201, "mint a setup code");
        let code = minted["setup_code"]["code"].as_str().unwrap().to_owned();
        assert!(openclaw_accepts(&code), "OpenClaw refuses {code}");
        assert!(!code.contains(['I', 'L', 'O', 'U']), "{code}");
        codes.push(code);
    }
    // The look-alikes a person may type: O for 0, l or I for 1 (a code
    // without either is rare: about one in two).
    let with_lookalike = codes
        .iter()
        .position(|code| code.contains(['0', '1']))
        .expect("a code with a 0 or a 1");
    let aliased = codes[with_lookalike]
        .replacen('0', "O", 1)
        .replacen('1', "l", 1)
        .replace('1', "I");
    assert!(aliased.contains(['O', 'l', 'I']), "{aliased}");
    let lower_spaced = codes[(with_lookalike + 1) % codes.len()]
        .to_lowercase()
        .replace('-', " ");
    let wrapped = format!("  {}  ", codes[(with_lookalike + 2) % codes.len()]);
    for typed in [aliased, lower_spaced, wrapped] {
        let claimed = api
            .post("/api/bot-setup-codes/claim", None, json!({ "code": typed }))
            .await
            .expect(200, &format!("claim {typed:?}"));
        assert!(claimed["token"].as_str().unwrap().starts_with("ccb_"));
    }
    // U is no Crockford symbol, nor an alias of one.
    api.post(
        "/api/bot-setup-codes/claim",
        None,
        json!({ "code": "UUUU-UUUU-UUUU" }),
    )
    .await
    .expect_error(404, "not a code");
    stack.stop().await;
}

#[tokio::test]
async fn a_setup_code_is_claimed_once_for_a_working_token() {
    let stack = TestStack::start_with_mail(MailConfig {
        public_url: Some("https://chat.example.test/".into()),
        dev_links: true,
        ..MailConfig::default()
    })
    .await;
    let boot = stack.bootstrap("installs").await;
    let ws = &boot.workspace.id;
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let api = stack.api();

    let created = api
        .post(
            &format!("/api/workspaces/{ws}/bots"),
            Some(&owner),
            json!({ "display_name": "OpenClaw", "handle": "openclaw" }),
        )
        .await
        .expect(201, "create bot");
    let bot_id = created["bot"]["id"].as_str().unwrap().to_owned();

    let minted = api
        .post(
            &format!("/api/workspaces/{ws}/bots/{bot_id}/setup-codes"),
            Some(&owner),
            json!({
                "name": "openclaw-laptop",
                "scopes": "bot:read",
                "defaults": { "defaultTo": "#general", "allowFrom": ["@ana"], "agentActivity": true },
            }),
        )
        .await
        .expect(201, "mint a setup code");
    let code = &minted["setup_code"];
    let shown = code["code"].as_str().unwrap().to_owned();
    assert_eq!(shown.len(), 14, "XXXX-XXXX-XXXX: {shown}");
    assert!(
        shown
            .split('-')
            .all(|part| part.len() == 4 && part.chars().all(|c| CROCKFORD.contains(c))),
        "Crockford base32 groups: {shown}"
    );
    assert!(code["id"].as_str().unwrap().starts_with("bsc_"));
    assert_eq!(code["bot_user_id"], bot_id.as_str());
    assert_eq!(code["workspace_id"], ws.as_str());
    assert_eq!(code["token_name"], "openclaw-laptop");
    assert_eq!(code["created_by"], boot.owner.id.as_str());
    assert_eq!(code["defaults"]["defaultTo"], "#general");
    assert_eq!(code["api_base_url"], "https://chat.example.test");
    let at = |key: &str| {
        chrono::DateTime::parse_from_rfc3339(code[key].as_str().unwrap()).expect("RFC 3339")
    };
    assert_eq!((at("expires_at") - at("created_at")).num_minutes(), 10);

    // Claimed without auth; case and dashes do not matter.
    let typed = shown.replace('-', "").to_lowercase();
    let claimed = api
        .post("/api/bot-setup-codes/claim", None, json!({ "code": typed }))
        .await
        .expect(200, "claim");
    let token = claimed["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("ccb_"));
    assert_eq!(claimed["bot"]["id"], bot_id.as_str());
    assert_eq!(claimed["bot"]["handle"], "openclaw");
    assert_eq!(claimed["bot"]["display_name"], "OpenClaw");
    assert_eq!(claimed["workspace"]["id"], ws.as_str());
    assert_eq!(claimed["workspace"]["slug"], "installs");
    assert!(claimed["workspace"]["route_id"].is_string());
    assert_eq!(claimed["defaults"]["allowFrom"][0], "@ana");
    assert_eq!(claimed["api_base_url"], "https://chat.example.test");

    // The token works as the bot, with the code's scopes.
    let me = api.get("/api/me", Some(&token)).await.expect(200, "me");
    assert_eq!(me["user"]["id"], bot_id.as_str());
    api.post(
        &format!("/api/channels/{}/messages", boot.general.id),
        Some(&token),
        json!({ "body": "bot:read cannot post" }),
    )
    .await
    .expect_error(403, "scopes come from the code");

    // Once only.
    api.post("/api/bot-setup-codes/claim", None, json!({ "code": shown }))
        .await
        .expect_error(404, "a used code");
    for bad in ["AAAA-AAAA-AAAA", "not a code", "ABCD-EFGH-1234"] {
        api.post("/api/bot-setup-codes/claim", None, json!({ "code": bad }))
            .await
            .expect_error(404, "an unknown code");
    }
    api.post("/api/bot-setup-codes/claim", None, json!({}))
        .await
        .expect_error(400, "no code");

    // Codes are objects: listed (never with the code), claimed ones say when,
    // a pending one can be withdrawn.
    let codes_path = format!("/api/workspaces/{ws}/bots/{bot_id}/setup-codes");
    let listed = api
        .get(&codes_path, Some(&owner))
        .await
        .expect(200, "list codes");
    let first = &listed["setup_codes"][0];
    assert_eq!(first["id"], code["id"]);
    assert!(first["claimed_at"].is_string(), "{first}");
    assert!(first.get("code").is_none(), "the code is shown only once");
    let pending = api
        .post(&codes_path, Some(&owner), json!({}))
        .await
        .expect(201, "a second code")["setup_code"]
        .clone();
    let pending_id = pending["id"].as_str().unwrap();
    api.post(
        &format!(
            "/api/bot-setup-codes/{}/revoke",
            code["id"].as_str().unwrap()
        ),
        Some(&owner),
        json!({}),
    )
    .await
    .expect_error(409, "a claimed code cannot be withdrawn");
    api.post(
        &format!("/api/bot-setup-codes/{pending_id}/revoke"),
        Some(&owner),
        json!({}),
    )
    .await
    .expect(200, "withdraw");
    api.post(
        "/api/bot-setup-codes/bsc_unknown/revoke",
        Some(&owner),
        json!({}),
    )
    .await
    .expect_error(404, "an unknown code");
    api.post(
        "/api/bot-setup-codes/claim",
        None,
        json!({ "code": pending["code"] }),
    )
    .await
    .expect_error(404, "a withdrawn code");
    let listed = api
        .get(&codes_path, Some(&owner))
        .await
        .expect(200, "list again");
    assert_eq!(listed["setup_codes"].as_array().unwrap().len(), 2);
    assert!(listed["setup_codes"][0].get("claimed_at").is_none());

    // Claiming minted an audited token that names the code.
    let log = api
        .get(&format!("/api/workspaces/{ws}/audit-log"), Some(&owner))
        .await
        .expect(200, "audit");
    let minted_entry = log["audit_log_entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "bot_token.created" && e["detail"]["setup_code_id"] == code["id"])
        .unwrap_or_else(|| panic!("claim is audited with the code id: {log}"));
    assert_eq!(minted_entry["detail"]["name"], "openclaw-laptop");
}

#[tokio::test]
async fn setup_codes_follow_the_minting_rules_and_expire() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("rules").await;
    let ws = &boot.workspace.id;
    let (ana, ana_session) = stack.member_session(ws, "ana", "member").await;
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (service_bot, bot_token) = stack.service_bot(ws, "service", "bot:write").await;
    let api = stack.api();

    // A plain member may not mint for a service bot; a bot token never may.
    let path = format!("/api/workspaces/{ws}/bots/{}/setup-codes", service_bot.id);
    api.post(&path, Some(&ana_session), json!({}))
        .await
        .expect_error(403, "a member, for a service bot");
    api.post(&path, Some(&bot_token), json!({}))
        .await
        .expect_error(403, "a bot token");
    api.get(&path, Some(&ana_session))
        .await
        .expect_error(403, "a member lists a service bot's codes");
    api.post(&path, None, json!({}))
        .await
        .expect_error(401, "no credentials");
    api.post(
        &path,
        Some(&owner),
        json!({ "defaults": { "agentActivity": "yes" } }),
    )
    .await
    .expect_error(400, "defaults of the wrong type");
    api.post(&path, Some(&owner), json!({ "scopes": "bot:everything" }))
        .await
        .expect_error(400, "an unknown scope");

    // A user-owned bot: its owner may, the workspace owner may not.
    let owned = api
        .post(
            &format!("/api/workspaces/{ws}/bots"),
            Some(&ana_session),
            json!({ "display_name": "Ana's helper", "handle": "ana-helper", "owner_user_id": ana.id }),
        )
        .await
        .expect(201, "ana's bot");
    let owned_path = format!(
        "/api/workspaces/{ws}/bots/{}/setup-codes",
        owned["bot"]["id"].as_str().unwrap()
    );
    api.post(&owned_path, Some(&owner), json!({}))
        .await
        .expect_error(403, "not the bot's owner");
    let code = api
        .post(&owned_path, Some(&ana_session), json!({}))
        .await
        .expect(201, "the bot's owner")["setup_code"]["code"]
        .as_str()
        .unwrap()
        .to_owned();

    // An expired code is as unknown as a wrong one.
    let expired = api
        .post(&path, Some(&owner), json!({}))
        .await
        .expect(201, "owner, service bot")["setup_code"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let aged = stack
        .db
        .execute("UPDATE identity.bot_setup_codes SET expires_at = now() - interval '1 second'");
    assert_eq!(aged, 2);
    for gone in [expired, code] {
        api.post("/api/bot-setup-codes/claim", None, json!({ "code": gone }))
            .await
            .expect_error(404, "an expired code");
    }
}

#[tokio::test]
async fn claims_are_rate_limited_per_address() {
    let stack = TestStack::start_with_limits(LimitsConfig {
        rate_sign_in: "10/m".parse().unwrap(),
        ..LimitsConfig::default()
    })
    .await;
    let api = stack.api();
    for attempt in 1..=10 {
        api.post(
            "/api/bot-setup-codes/claim",
            None,
            json!({ "code": "AAAA-BBBB-CCCC" }),
        )
        .await
        .expect_error(404, &format!("guess {attempt}"));
    }
    let refused = api
        .post(
            "/api/bot-setup-codes/claim",
            None,
            json!({ "code": "AAAA-BBBB-CCCD" }),
        )
        .await;
    assert!(refused.header("retry-after").is_some(), "{refused:?}");
    refused.expect_error(429, "the eleventh guess in a minute");
}

#[tokio::test]
async fn magic_links_are_mailed_over_smtp_and_answer_the_same_for_anyone() {
    let smtp = SmtpSink::start().await;
    let stack = TestStack::start_with_mail(MailConfig {
        smtp_url: Some(smtp.url()),
        mail_from: "ClickClack <noreply@chat.example.test>".into(),
        public_url: Some("https://chat.example.test".into()),
        dev_links: true,
    })
    .await;
    let boot = stack.bootstrap("mailed").await;
    let api = stack.api();
    let known = boot.owner.email.clone().unwrap();

    let mut answers = Vec::new();
    for email in [known.as_str(), "new.person@example.test"] {
        let answer = api
            .post("/api/auth/magic/request", None, json!({ "email": email }))
            .await
            .expect(202, "request a link");
        answers.push(answer);
    }
    assert_eq!(answers[0], answers[1], "the answer reveals nothing");
    assert!(answers[0].get("token").is_none() && answers[0].get("magic_link").is_none());

    let mails = smtp.wait_for(2, Duration::from_secs(10)).await;
    let to_owner = mails
        .iter()
        .find(|m| m.to == [known.clone()])
        .expect("a mail to the owner");
    assert_eq!(to_owner.from, "noreply@chat.example.test");
    assert!(
        to_owner
            .data
            .contains("Subject: Your ClickClack sign-in link")
    );
    let text = to_owner.text();
    let token = text
        .split("magic=")
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect::<String>()
        })
        .expect("the link is in the mail");
    assert!(
        text.contains("https://chat.example.test/?magic=mgt_"),
        "{text}"
    );

    // The mailed link signs the owner in.
    let session = api
        .post("/api/auth/magic/consume", None, json!({ "token": token }))
        .await
        .expect(200, "consume the mailed link");
    assert_eq!(session["user"]["id"], boot.owner.id.as_str());

    api.post(
        "/api/auth/magic/request",
        None,
        json!({ "email": "not-an-email" }),
    )
    .await
    .expect_error(400, "a bad address");
}

#[tokio::test]
async fn dev_links_come_back_to_loopback_and_nothing_configured_is_501() {
    let dev = TestStack::start().await;
    let answer = dev
        .api()
        .post(
            "/api/auth/magic/request",
            None,
            json!({ "email": "dev@example.test" }),
        )
        .await
        .expect(201, "dev mode, loopback");
    let token = answer["token"].as_str().unwrap();
    assert!(token.starts_with("mgt_"));
    assert!(answer["magic_link"].as_str().unwrap().ends_with(token));
    dev.api()
        .post("/api/auth/magic/consume", None, json!({ "token": token }))
        .await
        .expect(200, "the dev link signs in");

    let bare = TestStack::start_with_mail(MailConfig::default()).await;
    let refused = bare
        .api()
        .post(
            "/api/auth/magic/request",
            None,
            json!({ "email": "dev@example.test" }),
        )
        .await
        .expect_error(501, "no transport, not dev");
    assert!(refused.contains("CLICKCLACK_SMTP_URL"), "{refused}");
}
