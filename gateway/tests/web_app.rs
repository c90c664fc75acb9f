//! The web app in a real browser: headless Chromium driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`, installed by
//! `scripts/ensure-test-tools`) against the in-process stack. On failure the
//! page is saved to `target/web-screenshots/`; with
//! `CLICKCLACK_UPDATE_SCREENSHOTS=1` the chat view is also written to
//! `docs/screenshots/` for the README.

use clickclack_proto::identity as pb;
use clickclack_testkit::webhooks::{Answer, Receiver};
use clickclack_testkit::{TestStack, openclaw};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A 1×1 PNG.
const ONE_PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A chromedriver process on a free port; killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// The guard's Drop kills and reaps the process; clippy cannot see through it.
#[allow(clippy::zombie_processes)]
async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "chromedriver must be installed (scripts/ensure-test-tools installs chromium-driver)",
        );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Driver { child, url };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn browser(driver: &Driver) -> Client {
    browser_sized(driver, 1200, 800).await
}

async fn browser_sized(driver: &Driver, width: u32, height: u32) -> Client {
    // Two TLS back ends are linked into the test binary; pick one for the
    // WebDriver client (it only talks plain HTTP to chromedriver anyway).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", format!("--window-size={width},{height}")],
        }),
    );
    ClientBuilder::rustls()
        .expect("rustls connector")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/web-screenshots")
}

async fn save_screenshot(client: &Client, name: &str) -> PathBuf {
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let path = dir.join(format!("{name}.png"));
    if let Ok(png) = client.screenshot().await {
        std::fs::write(&path, png).expect("write screenshot");
    }
    path
}

/// Clicks the element `css` finds.
async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
}

/// Waits for the element `css` finds (WebDriver's default wait).
async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
}

/// Waits until `script` returns `expected` (10 s at most).
async fn wait_for_js(client: &Client, script: &str, expected: serde_json::Value) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = client.execute(script, vec![]).await.unwrap();
        if got == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{script} gave {got}, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element `css` finds inside `scope`.
async fn click_in(scope: &fantoccini::elements::Element, css: &str) {
    scope
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} here: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
}

/// Waits until nothing matches `css` (10 s at most).
async fn wait_gone(client: &Client, css: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !client
        .find_all(Locator::Css(css))
        .await
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{css} is still there"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for an element whose text contains `text` (10 s at most).
async fn wait_for_text(client: &Client, css: &str, text: &str) -> fantoccini::elements::Element {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        for element in client.find_all(Locator::Css(css)).await.unwrap_or_default() {
            if element.text().await.unwrap_or_default().contains(text) {
                return element;
            }
        }
        if tokio::time::Instant::now() > deadline {
            let shot = save_screenshot(client, "failure").await;
            panic!(
                "no {css} containing {text:?} within 10 s (screenshot: {})",
                shot.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs `email` in through a development magic link and waits for the
/// chat to open on #general.
async fn sign_in_as(stack: &TestStack, client: &Client, email: &str) {
    let link = stack
        .api()
        .post("/api/auth/magic/request", None, json!({ "email": email }))
        .await
        .expect(201, "a development sign-in link")["magic_link"]
        .as_str()
        .unwrap()
        .to_owned();
    client.goto(&link).await.unwrap();
    wait_for_text(client, "#title", "# general").await;
}

/// Fails when any visible text in the current view is below WCAG AA
/// contrast against what is painted behind it (`tests/contrast.js`), and
/// when fewer than `at_least` texts were there to check.
async fn assert_readable(client: &Client, view: &str, at_least: u64) {
    let report = client
        .execute(include_str!("contrast.js"), vec![])
        .await
        .unwrap_or_else(|e| panic!("{view}: the contrast check did not run: {e}"));
    let checked = report["checked"].as_u64().unwrap_or(0);
    let failures = report["failures"].as_array().cloned().unwrap_or_default();
    if !failures.is_empty() {
        save_screenshot(client, &format!("contrast-{view}")).await;
    }
    assert!(
        failures.is_empty(),
        "{view}: {} of {checked} texts are below WCAG AA: {}",
        failures.len(),
        serde_json::to_string_pretty(&failures).unwrap()
    );
    assert!(
        checked >= at_least,
        "{view}: only {checked} texts checked, expected at least {at_least}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_text_is_readable_in_the_light_and_the_dark_theme() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("contrast").await;
    let ws = &boot.workspace.id;
    let (_, service_token) = stack.service_bot(ws, "deploy", "bot:write").await;
    let owned = stack
        .identity()
        .await
        .create_bot(pb::CreateBotRequest {
            workspace: ws.clone(),
            display_name: "Owner's Helper".into(),
            handle: "helper".into(),
            owner_user_id: Some(boot.owner.id.clone()),
            scopes: vec!["bot:write".into()],
            ..Default::default()
        })
        .await
        .expect("a user-owned bot")
        .into_inner();
    let api = stack.api();
    let general = format!("/api/channels/{}/messages", boot.general.id);
    for (token, body) in [
        (&service_token, "deploy finished"),
        (&owned.token, "I work for the owner"),
    ] {
        api.post(&general, Some(token), json!({ "body": body }))
            .await
            .expect(201, "a bot posts");
    }
    let driver = start_driver().await;
    let client = browser(&driver).await;
    sign_in_as(&stack, &client, boot.owner.email.as_deref().unwrap()).await;
    for theme in ["light", "dark"] {
        client
            .execute(
                "localStorage.setItem('clickclack.theme', arguments[0])",
                vec![json!(theme)],
            )
            .await
            .unwrap();
        client.goto(&stack.http_url).await.unwrap();
        wait_for_text(&client, "article.message", "I work for the owner").await;
        wait_js_theme(&client, theme).await;
        // The chat: channels, the People list with its BOT badges, and bot
        // messages with their badges and owners.
        wait_for_text(&client, ".sidebar li", "Owner's Helper").await;
        assert_readable(&client, &format!("{theme}-chat"), 10).await;
        save_screenshot(&client, &format!("contrast-{theme}-chat")).await;
        // A user-owned bot's profile card.
        let message = wait_for_text(&client, "article.message", "I work for the owner").await;
        click_in(&message, "button.author").await;
        wait_for_text(&client, ".profile", "Bot of").await;
        assert_readable(&client, &format!("{theme}-profile"), 12).await;
        client
            .execute("document.querySelector('.profile')?.remove()", vec![])
            .await
            .unwrap();
        // Settings: appearance, bots with their tokens, members.
        click(&client, "#open-settings").await;
        wait_for_text(&client, "article.bot-entry", "Owner's Helper").await;
        assert_readable(&client, &format!("{theme}-settings"), 20).await;
        save_screenshot(&client, &format!("contrast-{theme}-settings")).await;
        click_in(
            &wait_for_text(&client, "article.bot-entry", "Bot deploy").await,
            "button.setup-code",
        )
        .await;
        wait_for(&client, "#setup-command").await;
        assert_readable(&client, &format!("{theme}-setup-code"), 20).await;
    }
    client.close().await.unwrap();
    stack.stop().await;
}

/// Waits until the page shows `theme`.
async fn wait_js_theme(client: &Client, theme: &str) {
    wait_for_js(
        client,
        "return document.documentElement.dataset.theme || 'system'",
        json!(theme),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_chat_and_see_bots_for_what_they_are() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("webapp").await;
    let ws = &boot.workspace.id;
    let owner_email = boot.owner.email.clone().unwrap();
    let (_, service_token) = stack.service_bot(ws, "deploy", "bot:write").await;
    let owned = stack
        .identity()
        .await
        .create_bot(pb::CreateBotRequest {
            workspace: ws.clone(),
            display_name: "Owner's Helper".into(),
            handle: "helper".into(),
            owner_user_id: Some(boot.owner.id.clone()),
            scopes: vec!["bot:write".into()],
            ..Default::default()
        })
        .await
        .expect("a user-owned bot")
        .into_inner();
    let (_, owner_session) = stack.sign_in(&owner_email).await;
    let ops = stack
        .api()
        .post(
            &format!("/api/workspaces/{ws}/channels"),
            Some(&owner_session),
            json!({ "name": "ops" }),
        )
        .await
        .expect(201, "a second channel")["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let driver = start_driver().await;
    let client = browser(&driver).await;

    // Sign in through a magic link (development mode shows it on the page).
    client.goto(&stack.http_url).await.unwrap();
    let email = wait_for(&client, "#email").await;
    email.send_keys(&owner_email).await.unwrap();
    click(&client, "form button[type=submit]").await;
    wait_for(&client, "#magic-link")
        .await
        .click()
        .await
        .unwrap();
    wait_for_text(&client, "#title", "# general").await;

    // The session is an HttpOnly cookie: no script can read it.
    let visible_to_scripts = client
        .execute("return document.cookie", vec![])
        .await
        .unwrap();
    assert!(
        !visible_to_scripts
            .as_str()
            .unwrap_or_default()
            .contains("cc_session"),
        "{visible_to_scripts}"
    );
    let local = client
        .execute("return JSON.stringify(window.localStorage)", vec![])
        .await
        .unwrap();
    assert!(
        !local.as_str().unwrap_or_default().contains("sst_"),
        "no secret in localStorage"
    );

    // Post from the composer (Enter sends).
    let composer = client.find(Locator::Id("composer")).await.unwrap();
    composer
        .send_keys("hello from the browser\u{E007}")
        .await
        .unwrap();
    wait_for_text(&client, "article.message", "hello from the browser").await;
    let api = stack.api();
    let listed = api
        .get(
            &format!("/api/channels/{}/messages", boot.general.id),
            Some(&service_token),
        )
        .await
        .expect(200, "list");
    let posted = listed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["body"] == "hello from the browser")
        .expect("the browser's post is stored");
    assert_eq!(posted["author_id"], boot.owner.id.as_str());

    // A bot posts through the REST API: it appears live, badged.
    api.post(
        &format!("/api/channels/{}/messages", boot.general.id),
        Some(&service_token),
        json!({ "body": "deploy finished" }),
    )
    .await
    .expect(201, "service bot post");
    api.post(
        &format!("/api/channels/{}/messages", boot.general.id),
        Some(&owned.token),
        json!({ "body": "I work for the owner" }),
    )
    .await
    .expect(201, "owned bot post");
    // A post in another channel shows up as unread there.
    api.post(
        &format!("/api/channels/{ops}/messages"),
        Some(&service_token),
        json!({ "body": "elsewhere" }),
    )
    .await
    .expect(201, "post in #ops");
    wait_for_text(
        &client,
        &format!(".sidebar button[data-channel='{ops}'] .unread"),
        "1",
    )
    .await;
    let from_bot = wait_for_text(&client, "article.message", "deploy finished").await;
    let badge = from_bot
        .find(Locator::Css(".badge"))
        .await
        .expect("a BOT badge");
    assert_eq!(badge.text().await.unwrap(), "BOT");
    let from_owned = wait_for_text(&client, "article.message", "I work for the owner").await;
    assert!(from_owned.find(Locator::Css(".badge")).await.is_ok());
    let owner_tag = from_owned.find(Locator::Css(".bot-owner")).await.unwrap();
    assert_eq!(owner_tag.text().await.unwrap(), "Owner of webapp's");
    let service_tag = from_bot.find(Locator::Css(".bot-owner")).await.unwrap();
    assert_eq!(service_tag.text().await.unwrap(), "service bot");
    let human = wait_for_text(&client, "article.message", "hello from the browser").await;
    assert!(
        human.find(Locator::Css(".badge")).await.is_err(),
        "humans get no badge"
    );

    // Profile cards: whose bot it is, by name; or a service bot.
    click_in(&from_owned, "button.author").await;
    wait_for_text(&client, ".profile .owned-by", "Bot of Owner of webapp").await;
    let card = client.find(Locator::Css(".profile")).await.unwrap();
    assert!(!card.text().await.unwrap().contains("usr_"), "no raw ids");
    if std::env::var("CLICKCLACK_UPDATE_SCREENSHOTS").is_ok() {
        let png = client.screenshot().await.unwrap();
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join("chat.png"), png).unwrap();
    }
    click_in(&from_bot, "button.author").await;
    wait_for_text(&client, ".profile .owned-by", "Service bot").await;
    save_screenshot(&client, "chat").await;
    click(&client, ".profile button:last-child").await;

    // Reply in a thread, in the side pane.
    let root = wait_for_text(
        &client,
        "#timeline article.message",
        "hello from the browser",
    )
    .await;
    click_in(&root, ".open-thread").await;
    wait_for(&client, ".thread-pane #thread-composer")
        .await
        .send_keys("a reply in the thread\u{E007}")
        .await
        .unwrap();
    wait_for_text(
        &client,
        ".thread-pane article.message",
        "a reply in the thread",
    )
    .await;
    wait_for_text(&client, "#timeline .open-thread", "1 reply").await;
    let root_id = posted["id"].as_str().unwrap();
    let thread = api
        .get(
            &format!("/api/messages/{root_id}/thread"),
            Some(&service_token),
        )
        .await
        .expect(200, "thread");
    assert_eq!(thread["replies"][0]["body"], "a reply in the thread");
    assert_eq!(thread["replies"][0]["author_id"], boot.owner.id.as_str());
    click(&client, ".thread-pane header button").await;

    // React.
    let root = wait_for_text(
        &client,
        "#timeline article.message",
        "hello from the browser",
    )
    .await;
    click_in(&root, ".add-reaction").await;
    // Asked of the page in one go: the live event re-renders the timeline,
    // so a held element can go stale between two questions.
    wait_for_js(
        &client,
        "return [...document.querySelectorAll('#timeline .reaction')].some((r) => r.textContent.includes('👍 1') && r.getAttribute('aria-pressed') === 'true')",
        json!(true),
    )
    .await;
    let reacted = api
        .get(&format!("/api/messages/{root_id}"), Some(&service_token))
        .await
        .expect(200, "message");
    assert_eq!(reacted["message"]["reactions"][0]["emoji"], "👍");

    // Upload an image and see its preview.
    let image = std::env::temp_dir().join(format!("clickclack-dot-{}.png", std::process::id()));
    std::fs::write(&image, ONE_PIXEL_PNG).unwrap();
    client
        .find(Locator::Id("attach"))
        .await
        .unwrap()
        .send_keys(image.to_str().unwrap())
        .await
        .unwrap();
    // Read through the page, not an element handle: the timeline may
    // re-render the message when its live event arrives after the answer.
    wait_for_js(
        &client,
        "return document.querySelector('img.preview')?.alt.startsWith('clickclack-dot') ?? false",
        json!(true),
    )
    .await;
    let _ = std::fs::remove_file(&image);
    // The preview decodes through the session cookie.
    wait_for_js(
        &client,
        "return document.querySelector('img.preview').naturalWidth",
        json!(1),
    )
    .await;
    wait_for_text(&client, ".attachment a", "Download clickclack-dot").await;

    // Typing: a bot says it is typing; the line under the timeline shows it.
    api.post(
        "/api/realtime/ephemeral",
        Some(&service_token),
        json!({ "workspace_id": ws, "channel_id": boot.general.id, "type": "typing.started" }),
    )
    .await
    .expect(202, "typing");
    wait_for_text(&client, "#typing", "Bot deploy is typing").await;

    // Edit, then delete, own messages through dialogs.
    let own = wait_for_text(
        &client,
        "#timeline article.message",
        "hello from the browser",
    )
    .await;
    click_in(&own, "button.edit").await;
    let editor = wait_for(&client, "dialog textarea").await;
    editor.clear().await.unwrap();
    editor.send_keys("hello, edited").await.unwrap();
    click(&client, "dialog button[type=submit]").await;
    wait_for_text(&client, "#timeline article.message", "hello, edited").await;
    let edited = api
        .get(&format!("/api/messages/{root_id}"), Some(&service_token))
        .await
        .expect(200, "edited message");
    assert_eq!(edited["message"]["body"], "hello, edited");
    let upload_message = wait_for_text(
        &client,
        "#timeline article.message",
        "Download clickclack-dot",
    )
    .await;
    click_in(&upload_message, "button.delete").await;
    click(&client, "dialog .confirm").await;
    wait_for_text(
        &client,
        "#timeline article.message",
        "This message was deleted.",
    )
    .await;

    // Search opens its results in the side pane.
    let search = client.find(Locator::Id("search")).await.unwrap();
    search.send_keys("edited\u{E007}").await.unwrap();
    let hit = wait_for_text(&client, ".thread-pane .result", "hello, edited").await;
    let marked = hit.find(Locator::Css("mark")).await.unwrap();
    assert_eq!(
        marked.text().await.unwrap(),
        "edited",
        "the hit is highlighted"
    );
    click(&client, ".thread-pane header button").await;

    // The browser's cookie alone cannot write: CSRF token and Origin needed.
    let cookie = client.get_named_cookie("cc_session").await.unwrap();
    let csrf = client.get_named_cookie("cc_csrf").await.unwrap();
    let jar = format!("cc_session={}", cookie.value());
    let path = format!("/api/channels/{}/messages", boot.general.id);
    let origin = stack.http_url.clone();
    let with_cookie = api.with_header("cookie", &jar);
    let attempt = |origin: Option<&str>, csrf: Option<&str>| {
        let mut api = with_cookie.clone();
        if let Some(origin) = origin {
            api = api.with_header("origin", origin);
        }
        if let Some(csrf) = csrf {
            api = api.with_header("x-clickclack-csrf", csrf);
        }
        let path = path.clone();
        async move { api.post(&path, None, json!({ "body": "forged?" })).await }
    };
    assert_eq!(
        attempt(Some(&origin), None).await.status,
        403,
        "no CSRF header"
    );
    assert_eq!(
        attempt(Some("https://evil.example"), Some(csrf.value()))
            .await
            .status,
        403,
        "another origin"
    );
    assert_eq!(
        attempt(Some(&origin), Some(csrf.value())).await.status,
        201,
        "the app's own request"
    );

    // Bot management: create a bot, see its token once, use it, revoke it.
    click(&client, "#open-settings").await;
    wait_for_text(&client, "#bots-title", "Bots").await;
    wait_for(&client, "#bot-name")
        .await
        .send_keys("UI Bot")
        .await
        .unwrap();
    client
        .find(Locator::Id("bot-handle"))
        .await
        .unwrap()
        .send_keys("ui-bot")
        .await
        .unwrap();
    click(&client, "#create-bot button[type=submit]").await;
    let secret = wait_for(&client, "#new-secret").await.text().await.unwrap();
    assert!(secret.starts_with("ccb_"), "{secret}");
    wait_for_text(&client, ".secret-box .warning", "shown only once").await;
    let me = api
        .get("/api/me", Some(&secret))
        .await
        .expect(200, "the new token works");
    assert_eq!(me["user"]["display_name"], "UI Bot");
    let done = client.find(Locator::Id("secret-done")).await.unwrap();
    assert!(
        !done.is_enabled().await.unwrap(),
        "Done waits for \"I've stored it\""
    );
    click(&client, "#copied").await;
    click(&client, "#secret-done").await;
    wait_gone(&client, "#new-secret").await;
    let entry = wait_for_text(&client, "article.bot-entry", "UI Bot").await;
    let page = client.source().await.unwrap();
    assert!(!page.contains(&secret), "the token is never shown again");
    click_in(&entry, "button.revoke").await;
    wait_for_text(&client, "dialog p", "refused from its next request").await;
    click(&client, "dialog .confirm").await;
    wait_for(&client, "#revoked").await;
    api.get("/api/me", Some(&secret))
        .await
        .expect_error(401, "revoked in the UI");
    wait_for_text(
        &client,
        "article.bot-entry",
        "revoked just now by Owner of webapp",
    )
    .await;

    // Rotating keeps the old token for the grace period and shows the new one once.
    let helper = wait_for_text(&client, "article.bot-entry", "Owner's Helper").await;
    click_in(&helper, "button.rotate").await;
    let rotated = wait_for(&client, "#new-secret").await.text().await.unwrap();
    api.get("/api/me", Some(&rotated))
        .await
        .expect(200, "the rotated token works");
    api.get("/api/me", Some(&owned.token))
        .await
        .expect(200, "the old one, during its grace");
    click(&client, "#copied").await;
    click(&client, "#secret-done").await;
    wait_gone(&client, "#new-secret").await;
    wait_for_text(&client, "article.bot-entry", "ends ").await;
    if std::env::var("CLICKCLACK_UPDATE_SCREENSHOTS").is_ok() {
        let png = client.screenshot().await.unwrap();
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        std::fs::write(docs.join("bots.png"), png).unwrap();
    }
    save_screenshot(&client, "bots").await;

    // Signing out ends the session.
    click(&client, "#sign-out").await;
    wait_for(&client, "#email").await;
    let after = api.with_header("cookie", &jar).get("/api/me", None).await;
    assert_eq!(after.status, 401, "the old cookie no longer works");

    client.close().await.unwrap();
}

#[tokio::test]
async fn the_app_is_served_with_a_strict_policy() {
    let stack = TestStack::start().await;
    let api = stack.api();
    for (path, content_type) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/app.css", "text/css"),
    ] {
        let response = api.download(path, None).await;
        assert_eq!(response.status, 200, "{path}");
        let header = |name: &str| response.header(name).unwrap_or_default().to_owned();
        assert!(header("content-type").starts_with(content_type), "{path}");
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert_eq!(header("cache-control"), "no-cache");
        assert_eq!(header("x-content-type-options"), "nosniff");
    }
    let index = String::from_utf8(api.download("/", None).await.expect(200, "the app"))
        .expect("the app is UTF-8");
    assert!(!index.contains("<script>"), "no inline script");
    assert!(
        !index.contains("http://") && !index.contains("https://"),
        "no third-party origin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_fits_a_380_pixel_phone() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("phone").await;
    let driver = start_driver().await;
    let client = browser_sized(&driver, 380, 800).await;
    sign_in_as(&stack, &client, boot.owner.email.as_deref().unwrap()).await;
    let composer = wait_for(&client, "#composer").await;
    assert!(composer.is_displayed().await.unwrap());
    let widths = client
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth]",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, inner) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
    assert!(
        scroll <= inner,
        "no sideways scrolling at 380 px: {scroll} > {inner}"
    );
    // Every control has a name a screen reader can read.
    let unnamed = client
        .execute(
            "return [...document.querySelectorAll('button, input, textarea, select')]\
               .filter(e => !(e.getAttribute('aria-label') || e.labels?.length || e.textContent.trim()))\
               .map(e => e.outerHTML)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(unnamed, json!([]), "unlabelled controls");

    // On a phone the sidebar is a drawer; found a workspace from it.
    assert!(
        !wait_for(&client, ".sidebar")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    click(&client, "#menu-toggle").await;
    click(&client, "#new-workspace").await;
    wait_for(&client, "#new-workspace-name")
        .await
        .send_keys("Pocket Lab")
        .await
        .unwrap();
    click(&client, "dialog button[type=submit]").await;
    // (The switcher sits in the closed drawer, so ask the page, not the eye.)
    wait_for_text(&client, "#title", "# general").await;
    wait_for_js(
        &client,
        "return document.querySelector('#workspace-switcher').selectedOptions[0].textContent",
        json!("Pocket Lab"),
    )
    .await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_turns_fold_unread_is_marked_and_setup_codes_are_ready_to_run() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("agents").await;
    let ws = &boot.workspace.id;
    let (_, agent) = stack
        .service_bot(ws, "agent", "bot:write,agent_activity:write")
        .await;
    let api = stack.api();
    let general = format!("/api/channels/{}/messages", boot.general.id);
    for (body, kind) in [
        ("looking at the logs", Some("agent_commentary")),
        ("grep ERROR app.log", Some("agent_tool")),
        ("found it: a typo in the config", None),
    ] {
        let mut message = json!({ "body": body });
        if let Some(kind) = kind {
            message["kind"] = json!(kind);
            message["turn_id"] = json!("turn-1");
        }
        api.post(&general, Some(&agent), message)
            .await
            .expect(201, "agent post");
    }
    let driver = start_driver().await;
    let client = browser(&driver).await;
    sign_in_as(&stack, &client, boot.owner.email.as_deref().unwrap()).await;

    // What arrived before the visit is marked new; the turn folds into one block.
    wait_for_text(&client, ".new-divider", "New: 3 new messages").await;
    let turn = wait_for_text(&client, "details.agent-turn summary", "2 steps").await;
    assert!(turn.text().await.unwrap().starts_with("Bot agent"));
    wait_for_text(&client, "#timeline article.message", "found it").await;
    wait_for_text(&client, "#unread-bar", "3 new messages").await;
    click(&client, "#mark-read").await;
    wait_gone(&client, ".new-divider").await;

    // An agent's progress shows by the composer.
    api.post(
        "/api/realtime/ephemeral",
        Some(&agent),
        json!({ "workspace_id": ws, "channel_id": boot.general.id, "type": "agent.progress", "payload": { "status": "reading logs" } }),
    )
    .await
    .expect(202, "progress");
    wait_for_text(&client, "#typing", "Bot agent is responding…: reading logs").await;

    // `/` offers the bots' commands, `@` the members (bots marked).
    api.put(
        "/api/bots/self/commands",
        Some(&agent),
        json!({ "commands": [{ "command": "deploy", "description": "Ship it", "args_hint": "<env>" }] }),
    )
    .await
    .expect(200, "a command menu");
    let composer = wait_for(&client, "#composer").await;
    composer.send_keys("/de").await.unwrap();
    wait_for_text(
        &client,
        "#composer-menu li",
        "/deploy <env> · Ship it · Bot agent",
    )
    .await;
    composer.send_keys("\u{E007}").await.unwrap();
    let typed = composer.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(typed, "/deploy ");
    composer.clear().await.unwrap();
    composer.send_keys("thanks @ag").await.unwrap();
    wait_for_text(&client, "#composer-menu li", "Bot agent · bot").await;
    composer.send_keys("\u{E004}").await.unwrap();
    let typed = composer.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(typed, "thanks @agent ");

    // Quote the answer and send: the new message carries the quote.
    let answer = wait_for_text(&client, "#timeline article.message", "found it").await;
    click_in(&answer, ".quote-action").await;
    wait_for_text(&client, "#quote-preview", "Quoting Bot agent").await;
    composer.send_keys("\u{E007}").await.unwrap();
    wait_for_text(&client, "#timeline article.message", "thanks @agent").await;
    wait_for_text(&client, "#timeline blockquote.quoted", "found it: a typo").await;
    // The post is stored with its quote (poll: the page shows it pending first).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let last = loop {
        let stored = api
            .get(
                &format!("/api/channels/{}/messages", boot.general.id),
                Some(&agent),
            )
            .await
            .expect(200, "list");
        let last = stored["messages"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        if last["body"] != "found it: a typo in the config" {
            break last;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the quoting post never arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(last["body"], "thanks @agent ");
    assert_eq!(
        last["quoted_body_snapshot"],
        "found it: a typo in the config"
    );

    // A setup code comes as a ready command with a countdown.
    click(&client, "#open-settings").await;
    let entry = wait_for_text(&client, "article.bot-entry", "Bot agent").await;
    click_in(&entry, "button.setup-code").await;
    let command = wait_for(&client, "#setup-command")
        .await
        .text()
        .await
        .unwrap();
    let split = wait_for(&client, "#setup-command-split")
        .await
        .text()
        .await
        .unwrap();
    let code = wait_for(&client, "#new-secret").await.text().await.unwrap();
    // Both commands read, as the OpenClaw extension reads them, as a claim
    // of the shown code at this server.
    let claim_url = format!("{}/api/bot-setup-codes/claim", stack.http_url);
    for shown in [&command, &split] {
        let claim = openclaw::parse_command(shown).unwrap_or_else(|why| panic!("{why}: {shown}"));
        assert_eq!(claim.url, claim_url, "{shown}");
        assert_eq!(Some(claim.code), openclaw::normalize_code(&code), "{shown}");
    }
    assert_eq!(
        command,
        format!(
            "openclaw channels add clickclack --code '{}/#{code}'",
            stack.http_url
        )
    );
    wait_for_text(&client, "#setup-countdown", "expires in 9:").await;
    // Claimed exactly where and as the extension would.
    let claim = openclaw::parse_command(&command).unwrap();
    let claimed = stack
        .http
        .post(&claim.url)
        .json(&json!({ "code": claim.code }))
        .send()
        .await
        .unwrap();
    assert_eq!(claimed.status(), 200, "the shown command works");
    click(&client, "#copied").await;
    click(&client, "#secret-done").await;
    wait_gone(&client, "#new-secret").await;

    // The code is listed as an object: claimed, and when.
    wait_for_text(&client, ".setup-codes li", "claimed just now").await;

    // Members can be found by name and role.
    wait_for(&client, "#member-filter")
        .await
        .send_keys("Bot agent")
        .await
        .unwrap();
    let visible = client
        .execute(
            "return [...document.querySelectorAll('table.members tbody tr')].filter(r => !r.hidden).map(r => r.dataset.role)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(visible, json!(["bot"]));

    // Appearance: dark on request, whatever the system says.
    click(&client, "#theme option[value=dark]").await;
    let theme = client
        .execute("return document.documentElement.dataset.theme", vec![])
        .await
        .unwrap();
    assert_eq!(theme, json!("dark"));

    // Your own profile.
    let name = wait_for(&client, "#my-name").await;
    name.clear().await.unwrap();
    name.send_keys("Ada Owner").await.unwrap();
    click(&client, "#profile-form button[type=submit]").await;
    wait_for(&client, "#profile-saved").await;
    let (_, session) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let me = api.get("/api/me", Some(&session)).await.expect(200, "me");
    assert_eq!(me["user"]["display_name"], "Ada Owner");
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bots_webhooks_are_added_tested_redelivered_and_rotated_in_the_app() {
    use clickclack_sdk::webhook::{DEFAULT_TOLERANCE, verify_webhook};
    use clickclack_testkit::webhooks::Receiver;
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("hooked").await;
    stack
        .service_bot(&boot.workspace.id, "ci", "bot:read")
        .await;
    let mut receiver = Receiver::start().await;
    let driver = start_driver().await;
    let client = browser(&driver).await;
    sign_in_as(&stack, &client, boot.owner.email.as_deref().unwrap()).await;
    click(&client, "#open-settings").await;
    wait_for_text(&client, "article.bot-entry", "Bot ci").await;

    // Add one: the signing secret is shown once. (The bot's webhooks load
    // after its entry shows.)
    let url = wait_for(&client, ".webhook-url").await;
    url.send_keys(&receiver.url).await.unwrap();
    click(&client, ".add-webhook-button").await;
    let secret = wait_for(&client, "#new-secret").await.text().await.unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    click(&client, "#copied").await;
    click(&client, "#secret-done").await;
    wait_gone(&client, "#new-secret").await;
    wait_for_text(&client, ".webhook", &receiver.url).await;
    wait_for_text(&client, ".webhook-status", "active").await;

    // Send a test event: it arrives signed with that secret.
    click(&client, ".test-webhook").await;
    wait_for_text(&client, "#test-queued", "Sent a test event").await;
    let test = receiver
        .next(Duration::from_secs(15))
        .await
        .expect("the test event");
    let verified = verify_webhook(
        &[&secret],
        &test.header_pairs(),
        &test.body,
        DEFAULT_TOLERANCE,
    )
    .expect("signed with the secret the app showed");
    assert_eq!(verified.event["type"], "webhook.test");

    // Its delivery is listed (status, latency), and can be sent again.
    let mut listed = String::new();
    for _ in 0..30 {
        click(&client, "#open-settings").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let found = client
            .execute(
                "const li = document.querySelector('.delivery.ok'); return li ? li.textContent : ''",
                vec![],
            )
            .await
            .unwrap();
        listed = found.as_str().unwrap_or_default().to_owned();
        if !listed.is_empty() {
            break;
        }
    }
    assert!(
        listed.starts_with("200") && listed.contains("webhook.test") && listed.contains(" ms"),
        "{listed:?}"
    );
    // The colours of states and answers read in both themes.
    for theme in ["light", "dark"] {
        client
            .execute(
                "document.documentElement.dataset.theme = arguments[0]",
                vec![json!(theme)],
            )
            .await
            .unwrap();
        wait_js_theme(&client, theme).await;
        assert_readable(&client, &format!("{theme}-webhooks"), 20).await;
    }
    wait_for(&client, ".delivery.ok .redeliver")
        .await
        .click()
        .await
        .unwrap();
    let again = receiver
        .next(Duration::from_secs(15))
        .await
        .expect("the redelivery");
    assert_eq!(again.header("webhook-id"), test.header("webhook-id"));

    // Rotate: a new secret, shown once.
    click(&client, ".rotate-webhook").await;
    let rotated = wait_for(&client, "#new-secret").await.text().await.unwrap();
    assert!(rotated.starts_with("whsec_") && rotated != secret);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bots_incoming_webhooks_are_made_used_and_revoked_in_the_app() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("incoming").await;
    stack
        .service_bot(&boot.workspace.id, "alerts", "bot:write")
        .await;
    let driver = start_driver().await;
    let client = browser(&driver).await;
    sign_in_as(&stack, &client, boot.owner.email.as_deref().unwrap()).await;
    click(&client, "#open-settings").await;
    wait_for_text(&client, "article.bot-entry", "Bot alerts").await;
    wait_for_text(&client, ".incoming-hooks", "No incoming webhooks.").await;

    // Make one for #general: its URL is shown once.
    let name = wait_for(&client, ".incoming-name").await;
    name.send_keys("Deploys").await.unwrap();
    click(&client, ".add-incoming-button").await;
    let url = wait_for(&client, "#new-secret").await.text().await.unwrap();
    assert!(
        url.starts_with(&stack.http_url)
            && url.contains("/api/hooks/ihk_")
            && url.contains("/cch_"),
        "{url}"
    );
    click(&client, "#copied").await;
    click(&client, "#secret-done").await;
    wait_gone(&client, "#new-secret").await;
    let listed = wait_for_text(&client, ".incoming", "Deploys → #general")
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains("never used"), "{listed}");
    assert!(
        !listed.contains("cch_"),
        "the list never shows the secret: {listed}"
    );

    // The URL posts as the bot, with nothing else to hold.
    let http = reqwest::Client::new();
    let posted = http
        .post(&url)
        .json(&json!({ "text": "build 42 deployed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    // Picking the channel in the sidebar leaves the settings for the chat.
    click(
        &client,
        &format!(".sidebar button[data-channel='{}']", boot.general.id),
    )
    .await;
    let message = wait_for_text(&client, "article.message", "build 42 deployed").await;
    assert!(
        message.text().await.unwrap().contains("BOT"),
        "posted as the bot"
    );
    click(&client, "#open-settings").await;
    wait_for_text(&client, ".incoming", "last used").await;

    // Revoked, the URL stops working at once and the hook leaves the list.
    click(&client, ".revoke-incoming").await;
    click(&client, "dialog .confirm").await;
    wait_for_text(&client, ".incoming-hooks", "No incoming webhooks.").await;
    let refused = http
        .post(&url)
        .json(&json!({ "text": "too late" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_command_is_picked_from_the_menu_invoked_and_answered_only_to_its_invoker() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("slash").await;
    let ws = boot.workspace.id.clone();
    let (_, owner) = stack.sign_in(boot.owner.email.as_deref().unwrap()).await;
    let (bot, _) = stack.service_bot(&ws, "deployer", "bot:write").await;
    let mut receiver = Receiver::answering(Answer::raw(
        "200 OK",
        "Content-Type: application/json\r\n",
        r#"{"response_type":"ephemeral","text":"Deploying prod, just so you know"}"#,
    ))
    .await;
    stack
        .api()
        .post(
            &format!("/api/workspaces/{ws}/slash-commands"),
            Some(&owner),
            json!({ "command": "/deploy", "description": "Ship it", "callback_url": receiver.url, "bot_user_id": bot.id }),
        )
        .await
        .expect(201, "register /deploy");
    let driver = start_driver().await;
    let client = browser(&driver).await;
    sign_in_as(&stack, &client, boot.owner.email.as_deref().unwrap()).await;

    // `/` lists the registered command with its hint; Tab picks it.
    let composer = wait_for(&client, "#composer").await;
    composer.send_keys("/de").await.unwrap();
    wait_for_text(
        &client,
        "#composer-menu li",
        "/deploy · Ship it · Bot deployer",
    )
    .await;
    composer.send_keys("\u{E004}").await.unwrap();
    composer.send_keys("prod").await.unwrap();
    composer.send_keys("\u{E007}").await.unwrap();

    // The bot got the invocation, and its ephemeral answer shows once,
    // marked as only for this reader.
    let invocation = receiver
        .next(Duration::from_secs(10))
        .await
        .expect("the invocation")
        .json();
    assert_eq!(invocation["command"], "/deploy");
    assert_eq!(invocation["text"], "prod");
    let note = wait_for_text(
        &client,
        "article.message.ephemeral",
        "Deploying prod, just so you know",
    )
    .await;
    let text = note.text().await.unwrap();
    assert!(
        text.contains("Only visible to you") && text.contains("BOT"),
        "{text}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    wait_for_js(
        &client,
        "return document.querySelectorAll('article.message.ephemeral').length",
        json!(1),
    )
    .await;
    // Nothing was posted as text.
    let stored = stack
        .api()
        .get(
            &format!("/api/channels/{}/messages", boot.general.id),
            Some(&owner),
        )
        .await
        .expect(200, "list");
    assert!(!stored.to_string().contains("/deploy prod"), "{stored}");

    // A failing bot: the reader is told why, in the same place.
    receiver.answer(Answer::Status(500));
    composer.send_keys("/deploy again\u{E007}").await.unwrap();
    wait_for_text(
        &client,
        "article.message.ephemeral.error",
        "answered HTTP 500",
    )
    .await;
    save_screenshot(&client, "slash-commands").await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_on_a_bot_message_is_pressed_and_the_message_changes() {
    let stack = TestStack::start().await;
    let boot = stack.bootstrap("buttons").await;
    let ws = boot.workspace.id.clone();
    let (bot, bot_token) = stack
        .service_bot(&ws, "deployer", "bot:write,commands:write")
        .await;
    let mut receiver = Receiver::answering(Answer::raw(
        "200 OK",
        "Content-Type: application/json\r\n",
        r#"{"replace_original":true,"text":"Deploy 42 approved","actions":[]}"#,
    ))
    .await;
    stack
        .api()
        .put(
            &format!("/api/workspaces/{ws}/bots/{}/interactivity", bot.id),
            Some(&bot_token),
            json!({ "request_url": receiver.url }),
        )
        .await
        .expect(200, "the bot's endpoint");
    stack
        .api()
        .post(
            &format!("/api/channels/{}/messages", boot.general.id),
            Some(&bot_token),
            json!({ "body": "Deploy 42 to prod?", "actions": [
                { "id": "approve", "label": "Approve", "style": "primary", "value": "42" },
                { "id": "deny", "label": "Deny", "style": "danger" },
            ] }),
        )
        .await
        .expect(201, "a question with buttons");
    let driver = start_driver().await;
    let client = browser(&driver).await;
    sign_in_as(&stack, &client, boot.owner.email.as_deref().unwrap()).await;

    // The buttons show under the bot's message; pressing one asks the bot.
    let approve = wait_for(
        &client,
        "article.message .bot-actions button[data-action=approve]",
    )
    .await;
    assert_eq!(approve.text().await.unwrap(), "Approve");
    wait_for(
        &client,
        "article.message .bot-actions button.danger[data-action=deny]",
    )
    .await;
    approve.click().await.unwrap();
    let press = receiver
        .next(Duration::from_secs(10))
        .await
        .expect("the press")
        .json();
    assert_eq!(press["action"]["id"], "approve");
    assert_eq!(press["action"]["value"], "42");
    assert_eq!(press["user_id"], boot.owner.id);

    // The bot's answer changed the message: new text, no buttons.
    wait_for_text(&client, "article.message .body", "Deploy 42 approved").await;
    wait_for_js(
        &client,
        "return document.querySelectorAll('.bot-actions button').length",
        json!(0),
    )
    .await;
    save_screenshot(&client, "message-actions").await;
    stack.stop().await;
}
