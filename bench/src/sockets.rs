//! WebSocket listeners: each records when every `message.created` frame
//! arrived and how its socket ended.

use anyhow::Context;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens one socket on the workspace's realtime stream, live only (after
/// the current tail).
pub async fn open(
    url: &str,
    token: &str,
    workspace: &str,
    after_cursor: &str,
) -> anyhow::Result<Socket> {
    let ws_url = format!(
        "{}/api/realtime/ws?workspace_id={workspace}&after_cursor={after_cursor}",
        url.replacen("http", "ws", 1)
    );
    let mut request = ws_url.into_client_request()?;
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse()?);
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .context("open a WebSocket")?;
    Ok(socket)
}

/// The `payload.message_id` of a `message.created` frame, found without
/// parsing the whole frame (the listener must keep up with the server).
fn created_message_id(frame: &str) -> Option<&str> {
    if !frame.contains("\"type\":\"message.created\"") {
        return None;
    }
    let start = frame.find("\"message_id\":\"")? + "\"message_id\":\"".len();
    let end = frame[start..].find('"')?;
    Some(&frame[start..start + end])
}

/// What one listening socket saw.
#[derive(Default)]
pub struct Heard {
    pub arrivals: Vec<(String, Instant)>,
    pub frames: u64,
    /// How the socket ended, if it ended before it was told to stop:
    /// the close code, or "dropped" without a close frame.
    pub ended: Option<String>,
}

/// M listeners that run until [`Listeners::stop`].
pub struct Listeners {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<Heard>>,
    /// `message.created` frames heard by all listeners together.
    heard: Arc<AtomicUsize>,
}

impl Listeners {
    pub async fn open(
        url: &str,
        token: &str,
        workspace: &str,
        after_cursor: &str,
        count: usize,
    ) -> anyhow::Result<Listeners> {
        let (stop, stopped) = watch::channel(false);
        let heard = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::with_capacity(count);
        for _ in 0..count {
            let socket = open(url, token, workspace, after_cursor).await?;
            tasks.push(tokio::spawn(listen(socket, stopped.clone(), heard.clone())));
        }
        Ok(Listeners { stop, tasks, heard })
    }

    /// Stops every listener and returns what each heard.
    pub async fn stop(self) -> Vec<Heard> {
        let _ = self.stop.send(true);
        let mut heard = Vec::with_capacity(self.tasks.len());
        for task in self.tasks {
            heard.push(task.await.unwrap_or_default());
        }
        heard
    }

    /// Whether the listeners together heard at least `frames` messages.
    pub fn heard_at_least(&self, frames: usize) -> bool {
        self.heard.load(Ordering::Relaxed) >= frames
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

async fn listen(
    mut socket: Socket,
    mut stop: watch::Receiver<bool>,
    total: Arc<AtomicUsize>,
) -> Heard {
    let mut heard = Heard::default();
    loop {
        tokio::select! {
            _ = stop.changed() => {
                let _ = socket.close(None).await;
                return heard;
            }
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    heard.frames += 1;
                    if let Some(id) = created_message_id(&text) {
                        heard.arrivals.push((id.to_owned(), Instant::now()));
                        total.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    heard.ended = Some(frame.map_or("close without code".into(), |f| {
                        format!("{} {}", u16::from(f.code), f.reason)
                    }));
                    return heard;
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    heard.ended = Some(format!("dropped: {error}"));
                    return heard;
                }
                None => {
                    heard.ended = Some("dropped".into());
                    return heard;
                }
            }
        }
    }
}

/// How the sockets that ended early ended, counted by reason.
pub fn endings(heard: &[Heard]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for ending in heard.iter().filter_map(|h| h.ended.clone()) {
        *counts.entry(ending).or_insert(0) += 1;
    }
    counts
}

/// Opens `count` idle sockets, `parallel` at a time, and holds them.
pub async fn open_idle(
    url: &str,
    token: &str,
    workspace: &str,
    after_cursor: &str,
    count: usize,
    parallel: usize,
) -> anyhow::Result<Vec<Socket>> {
    let mut sockets = Vec::with_capacity(count);
    while sockets.len() < count {
        let batch = parallel.min(count - sockets.len());
        let opened = futures_util::future::join_all(
            (0..batch).map(|_| open(url, token, workspace, after_cursor)),
        )
        .await;
        for socket in opened {
            sockets.push(socket?);
        }
    }
    Ok(sockets)
}

/// Closes idle sockets cleanly, `parallel` at a time.
pub async fn close_all(sockets: Vec<Socket>, parallel: usize) {
    let mut sockets = sockets;
    while !sockets.is_empty() {
        let batch: Vec<_> = sockets.drain(..parallel.min(sockets.len())).collect();
        futures_util::future::join_all(batch.into_iter().map(|mut socket| async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), socket.close(None)).await;
        }))
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_come_from_created_frames_only() {
        let created = r#"{"id":"evt_1","cursor":"cur_1","type":"message.created","payload":{"message_id":"msg_9","author_id":"usr_1"}}"#;
        assert_eq!(created_message_id(created), Some("msg_9"));
        let reaction = r#"{"type":"reaction.added","payload":{"message_id":"msg_9"}}"#;
        assert_eq!(created_message_id(reaction), None);
    }
}
