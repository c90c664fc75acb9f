//! A write whose outcome is unknown (a 5xx, a dropped connection) is sent
//! again with the same nonce, so it lands once. Tried against a real HTTP
//! server on a bound port that fails the first attempts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clickclack_sdk::Client;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

type Seen = Arc<Mutex<Vec<Value>>>;

/// Answers 503 (with `Retry-After: 0`) to the first two posts, then 201.
async fn flaky(State(seen): State<Seen>, Json(body): Json<Value>) -> Response {
    let attempt = {
        let mut seen = seen.lock().unwrap();
        seen.push(body.clone());
        seen.len()
    };
    if attempt <= 2 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "0")],
            Json(json!({ "error": "a backend service is unavailable; try again shortly" })),
        )
            .into_response();
    }
    let message = json!({
        "id": "msg_1", "workspace_id": "wsp_1", "channel_id": "chn_1", "author_id": "usr_bot",
        "author": {"id": "usr_bot", "kind": "bot", "display_name": "Bot", "handle": "bot", "avatar_url": "", "created_at": "2026-12-01T00:00:00Z"},
        "body": body["body"], "body_format": "markdown", "kind": "", "channel_seq": 1,
        "thread_root_id": "msg_1", "nonce": body["nonce"], "created_at": "2026-12-01T00:00:00Z",
        "attachments": [], "reactions": []
    });
    (StatusCode::CREATED, Json(json!({ "message": message }))).into_response()
}

async fn server() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route("/api/channels/{id}/messages", axum::routing::post(flaky))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn an_unknown_outcome_is_retried_with_the_same_nonce() {
    for given in [Some("my-nonce"), None] {
        let (url, seen) = server().await;
        let client = Client::new(&url, "ccb_test").unwrap();
        let posted = client.post_message("chn_1", "hello", given).await.unwrap();
        assert!(posted.created);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3, "two failures, then success");
        let nonce = seen[0]["nonce"]
            .as_str()
            .expect("every write carries a nonce");
        if let Some(given) = given {
            assert_eq!(nonce, given);
        }
        assert!(seen.iter().all(|body| body["nonce"] == nonce), "{seen:?}");
    }
}
