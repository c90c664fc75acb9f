//! A WebSocket client for tests, connecting as a bot runtime does.

use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/api/realtime/ws?{query}` with a bearer header; panics on failure.
pub async fn open_socket(http_url: &str, query: &str, token: &str) -> Socket {
    let url = format!(
        "{}/api/realtime/ws?{query}",
        http_url.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request().expect("socket URL");
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .expect("open socket")
        .0
}

/// The close code the server sends next, skipping events; panics when none
/// comes within `wait`.
pub async fn next_close_code(socket: &mut Socket, wait: Duration) -> u16 {
    next_close(socket, wait).await.0
}

/// The close code and reason the server sends next, skipping events;
/// panics when none comes within `wait`.
pub async fn next_close(socket: &mut Socket, wait: Duration) -> (u16, String) {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => panic!("no close frame within {wait:?}"),
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                return (frame.code.into(), frame.reason.to_string());
            }
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("socket ended without a close code: {other:?}"),
        }
    }
}

/// The newest cursor `token` may see in `workspace` (`""` when none), from
/// the pull API, as a client asks for it before going live.
pub async fn tail_cursor(http_url: &str, token: &str, workspace: &str) -> String {
    let body = crate::Api::new(http_url, reqwest::Client::new())
        .get(
            &format!("/api/realtime/events?workspace_id={workspace}&include_tail=true&limit=1"),
            Some(token),
        )
        .await
        .expect(200, "pull the tail");
    body["tail_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("no tail_cursor in {body}"))
        .to_owned()
}

/// Opens a socket that starts at the caller's tail: live events only.
pub async fn open_live_socket(http_url: &str, workspace: &str, token: &str) -> Socket {
    let tail = tail_cursor(http_url, token, workspace).await;
    open_socket(
        http_url,
        &format!("workspace_id={workspace}&after_cursor={tail}"),
        token,
    )
    .await
}

/// The next event frame of type `kind`, skipping others; `None` when none
/// comes within `wait`. Panics when the socket closes.
pub async fn next_of_type(
    socket: &mut Socket,
    kind: &str,
    wait: Duration,
) -> Option<serde_json::Value> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Text(text)))) => {
                let frame: serde_json::Value = serde_json::from_str(&text).expect("a JSON frame");
                if frame["type"] == kind {
                    return Some(frame);
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => panic!("socket closed: {frame:?}"),
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("socket ended: {other:?}"),
        }
    }
}
