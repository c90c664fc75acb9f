//! What the webhooks tests share: a receiver for deliveries (a real HTTP
//! listener on a loopback port) and subscription rows.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use chrono::Utc;
use clickclack_webhooks::store::subscriptions::SubscriptionRow;

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A request as the receiver read it: its head (lower-cased names) and body.
pub struct Received {
    pub head: Vec<(String, String)>,
    pub request_line: String,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A receiver on a free loopback port that answers every request with
/// `answer` (raw HTTP), or never answers when it is `None`.
pub async fn receiver(answer: Option<Vec<u8>>) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (sent, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (sent, answer) = (sent.clone(), answer.clone());
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                let mut request_line = String::new();
                reader.read_line(&mut request_line).await.unwrap();
                let mut head = Vec::new();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).await.unwrap();
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    let (name, value) = line.split_once(':').unwrap();
                    head.push((name.to_ascii_lowercase(), value.trim().to_owned()));
                }
                let length: usize = head
                    .iter()
                    .find(|(name, _)| name == "content-length")
                    .map(|(_, value)| value.parse().unwrap())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                reader.read_exact(&mut body).await.unwrap();
                let _ = sent.send(Received {
                    head,
                    request_line: request_line.trim_end().to_owned(),
                    body,
                });
                match answer {
                    Some(answer) => {
                        let _ = reader.get_mut().write_all(&answer).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    (base, received)
}

pub fn answer(status: &str, headers: &str, body: &str) -> Option<Vec<u8>> {
    Some(
        format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// An active subscription of `usr_bot` in `wsp_1` to `url`.
pub fn subscription(id: &str, url: &str, sealed_secret: Vec<u8>) -> SubscriptionRow {
    SubscriptionRow {
        id: id.into(),
        workspace_id: "wsp_1".into(),
        bot_user_id: Some("usr_bot".into()),
        callback_url: url.into(),
        event_types: vec!["*".into()],
        channel_ids: Vec::new(),
        sealed_secret,
        previous_sealed_secret: None,
        previous_secret_until: None,
        created_by: None,
        created_at: Utc::now(),
        revoked_at: None,
        disabled_at: None,
        disabled_reason: None,
        failing_since: None,
        owner_told_at: None,
    }
}
