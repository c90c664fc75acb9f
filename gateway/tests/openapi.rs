//! The OpenAPI document at `GET /api/openapi.json` and the routes the
//! gateway serves describe each other exactly, and the credential each
//! operation declares is the one the gateway enforces.

use clickclack_testkit::TestStack;
use clickclack_testkit::http::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every (method, path template) of the document.
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            operations.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    operations
}

/// A concrete URL for a template: ids that look real but name nothing.
fn concrete(path: &str, workspace: &str) -> String {
    let filled = path
        .replace(
            "/api/workspaces/{id}",
            &format!("/api/workspaces/{workspace}"),
        )
        .replace(
            "/api/channels/{id}",
            "/api/channels/chn_01J0000000000000000000000",
        )
        .replace(
            "/api/messages/{id}",
            "/api/messages/msg_01J0000000000000000000000",
        )
        .replace("/api/dms/{id}", "/api/dms/dm_01J0000000000000000000000")
        .replace(
            "/api/uploads/{id}",
            "/api/uploads/upl_01J0000000000000000000000",
        )
        .replace(
            "/api/event-subscriptions/{id}",
            "/api/event-subscriptions/sub_01J0000000000000000000000",
        )
        .replace(
            "/api/incoming-webhooks/{id}",
            "/api/incoming-webhooks/ihk_01J0000000000000000000000",
        )
        .replace(
            "/api/hooks/{id}/{secret}",
            "/api/hooks/ihk_01J0000000000000000000000/cch_nothing",
        )
        .replace("{bot_id}", "usr_01J0000000000000000000000")
        .replace("{token_id}", "btok_01J0000000000000000000000")
        .replace("{id}", "bsc_01J0000000000000000000000")
        .replace("{token}", "inv_nothing")
        .replace("{emoji}", "%F0%9F%91%8D")
        .replace("{action_id}", "approve");
    assert!(!filled.contains('{'), "unfilled template {path}");
    format!("{filled}?workspace_id={workspace}")
}

/// What the router itself answers for a route it does not serve.
fn is_unrouted(status: u16, body: &str) -> bool {
    status == 405 || (status == 404 && body.contains("no route for"))
}

/// `method url`, answering the status and the body's text. A `GET` goes
/// through [`Api::download`](clickclack_testkit::Api::download): some
/// documented routes serve what is not JSON (the web app at `/`, its
/// assets, `/metrics`), while an error answer is still checked as JSON.
/// Every other method carries the JSON body `{}`, so no route refuses it for
/// want of a body before its credential is checked; those answers are
/// checked like every other.
async fn send(stack: &TestStack, method: &str, url: &str, token: Option<&str>) -> (u16, String) {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
    let api = stack.api();
    if method == Method::GET {
        let answer = api.download(url, token).await;
        return (
            answer.status,
            String::from_utf8_lossy(&answer.bytes).into_owned(),
        );
    }
    let answer = api.call(method, url, token, Some(&json!({}))).await;
    (answer.status, answer.text)
}

#[tokio::test]
async fn the_document_lists_exactly_the_served_routes_with_the_credentials_they_enforce() {
    let stack = TestStack::start().await;
    let site = stack.bootstrap("openapi").await;
    let workspace = site.workspace.id.clone();
    // A bot holding one scope that no operation but /api/me asks for.
    let (_, narrow) = stack
        .service_bot(&workspace, "narrow", "profile:read")
        .await;

    let document = stack
        .api()
        .get("/api/openapi.json", None)
        .await
        .expect(200, "the document needs no credential");
    assert_eq!(document["openapi"], "3.1.0");
    let operations = operations(&document);
    assert!(
        operations.len() >= 60,
        "only {} operations",
        operations.len()
    );

    let mut ids = BTreeSet::new();
    for (method, path, operation) in &operations {
        let context = format!("{} {path}", method.to_uppercase());
        assert!(
            ids.insert(
                operation["operationId"]
                    .as_str()
                    .expect("operationId")
                    .to_owned()
            ),
            "{context}: operationId repeats"
        );
        assert!(
            !operation["summary"].as_str().unwrap_or_default().is_empty(),
            "{context}: no summary"
        );
        let url = concrete(path, &workspace);

        // Documented → served: the router has a handler for it.
        let (status, body) = send(&stack, method, &url, None).await;
        assert!(
            !is_unrouted(status, &body),
            "{context} is documented but not served: {status} {body}"
        );

        // Its security says whether a credential is needed, and the route
        // enforces exactly that.
        let security = operation["security"].as_array().expect("security");
        if security.is_empty() {
            assert_ne!(
                status, 401,
                "{context} is documented as open but wants a credential: {body}"
            );
            continue;
        }
        if path == "/api/realtime/ws" {
            // Not a WebSocket handshake, so refused before its credential is
            // read; tests/realtime.rs covers its 401 and 403.
            continue;
        }
        assert_eq!(
            status, 401,
            "{context} needs a credential but answered without one: {body}"
        );
        let needed: Vec<&str> = security[0]["bearer"]
            .as_array()
            .expect("bearer requirement")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let person_only = operation["x-clickclack-caller"]
            .as_str()
            .unwrap_or_default()
            .starts_with("people");
        let (status, body) = send(&stack, method, &url, Some(&narrow)).await;
        if person_only {
            assert_eq!(
                status, 403,
                "{context} is for people but a bot got {status} {body}"
            );
            assert!(body.contains("bot tokens cannot"), "{context}: {body}");
        } else if let Some(missing) = needed.iter().find(|scope| **scope != "profile:read") {
            assert_eq!(
                status, 403,
                "{context} needs {needed:?}; a profile:read bot got {status} {body}"
            );
            assert!(
                body.contains(&format!("lacks the {missing} scope")),
                "{context}: {body}"
            );
        } else {
            assert!(
                status != 401 && status != 403,
                "{context} needs only {needed:?} but refused the bot: {status} {body}"
            );
        }
    }

    // Served → documented: on every documented path, a method the document
    // does not list is not served either.
    let documented: BTreeSet<(String, String)> = operations
        .iter()
        .map(|(method, path, _)| (method.clone(), path.clone()))
        .collect();
    let paths: BTreeSet<&String> = operations.iter().map(|(_, path, _)| path).collect();
    for path in paths {
        for method in METHODS {
            if documented.contains(&(method.to_owned(), path.clone())) {
                continue;
            }
            let (status, body) = send(&stack, method, &concrete(path, &workspace), None).await;
            assert_eq!(
                status,
                405,
                "{} {path} is served but not documented: {body}",
                method.to_uppercase()
            );
        }
    }
    stack.stop().await;
}

#[tokio::test]
async fn request_bodies_and_queries_are_described_by_their_schemas() {
    let stack = TestStack::start().await;
    let document = stack
        .api()
        .get("/api/openapi.json", None)
        .await
        .expect(200, "document");
    let post = &document["paths"]["/api/channels/{id}/messages"]["post"];
    let reference = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .expect("a schema reference");
    let name = reference
        .strip_prefix("#/components/schemas/")
        .expect("a component");
    let message = &document["components"]["schemas"][name];
    for field in ["body", "nonce", "quoted_message_id"] {
        assert!(
            message["properties"].get(field).is_some(),
            "the message body schema lacks {field}: {message}"
        );
    }
    assert_eq!(post["security"][0]["bearer"][0], "messages:write");
    let search = document["paths"]["/api/search"]["get"]["parameters"]
        .as_array()
        .expect("search parameters");
    let names: Vec<&str> = search.iter().filter_map(|p| p["name"].as_str()).collect();
    for name in ["workspace_id", "q"] {
        assert!(
            names.contains(&name),
            "search lacks the {name} parameter: {names:?}"
        );
    }
    stack.stop().await;
}
