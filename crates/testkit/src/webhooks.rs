//! A webhook receiver for tests: a real HTTP listener on a loopback port
//! that records every delivery and answers as it is told (2xx, an error,
//! 410, 429 with `Retry-After`, exact bytes, or never).

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A request as the receiver read it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// As sent: `POST /hook HTTP/1.1`.
    pub request_line: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub path: String,
    pub body: Vec<u8>,
    pub received_at: std::time::Instant,
}

impl Delivery {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }

    /// The headers as `(name, value)` pairs of `&str`.
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON delivery")
    }
}

/// How the receiver answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Status(u16),
    /// 429 (or any status) with `Retry-After: seconds`.
    RetryAfter(u16, u64),
    /// Answers `status` after `millis` (a slow endpoint).
    Delayed(u16, u64),
    /// Exactly these bytes (a whole HTTP response), then the connection
    /// closes.
    Raw(Vec<u8>),
    /// Reads the request and never answers.
    Hang,
}

impl Answer {
    /// A raw answer with `status` (`"200 OK"`), extra `headers` (each
    /// ending in `\r\n`) and `body`.
    pub fn raw(status: &str, headers: &str, body: &str) -> Answer {
        Answer::Raw(
            format!(
                "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        )
    }
}

pub struct Receiver {
    /// `http://127.0.0.1:port/hook`.
    pub url: String,
    /// `http://127.0.0.1:port`: any path on it reaches this receiver.
    pub base: String,
    answer: Arc<Mutex<Answer>>,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
}

impl Receiver {
    /// Listens on a free loopback port, answering 200 until told otherwise.
    pub async fn start() -> Receiver {
        Receiver::answering(Answer::Status(200)).await
    }

    /// Listens on a free loopback port, answering `answer` until told
    /// otherwise.
    pub async fn answering(answer: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let url = format!("{base}/hook");
        let answer = Arc::new(Mutex::new(answer));
        let (sent, deliveries) = mpsc::unbounded_channel();
        let told = answer.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (sent, told) = (sent.clone(), told.clone());
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).await.is_err() {
                        return;
                    }
                    let mut headers = Vec::new();
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
                        }
                    }
                    let length: usize = headers
                        .iter()
                        .find(|(name, _)| name == "content-length")
                        .and_then(|(_, value)| value.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned();
                    // Decided before the test hears of it, so a test that
                    // changes the answer after a delivery changes the next.
                    let answer = told.lock().expect("answer").clone();
                    let _ = sent.send(Delivery {
                        request_line: request_line.trim_end().to_owned(),
                        headers,
                        path,
                        body,
                        received_at: std::time::Instant::now(),
                    });
                    let raw = match answer {
                        Answer::Raw(bytes) => bytes,
                        Answer::Status(status) => format!(
                            "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                        )
                        .into_bytes(),
                        Answer::RetryAfter(status, seconds) => format!(
                            "HTTP/1.1 {status} X\r\nretry-after: {seconds}\r\ncontent-length: 4\r\nconnection: close\r\n\r\nslow"
                        )
                        .into_bytes(),
                        Answer::Delayed(status, millis) => {
                            tokio::time::sleep(Duration::from_millis(millis)).await;
                            format!(
                                "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                            )
                            .into_bytes()
                        }
                        Answer::Hang => {
                            tokio::time::sleep(Duration::from_secs(120)).await;
                            return;
                        }
                    };
                    let _ = reader.get_mut().write_all(&raw).await;
                    let _ = reader.get_mut().shutdown().await;
                });
            }
        });
        Receiver {
            url,
            base,
            answer,
            deliveries,
        }
    }

    /// From now on, answer this way.
    pub fn answer(&self, answer: Answer) {
        *self.answer.lock().expect("answer") = answer;
    }

    /// The next delivery, or `None` after `within`.
    pub async fn next(&mut self, within: Duration) -> Option<Delivery> {
        tokio::time::timeout(within, self.deliveries.recv())
            .await
            .ok()
            .flatten()
    }

    /// A delivery that has already arrived, if any (never waits).
    pub fn try_next(&mut self) -> Option<Delivery> {
        self.deliveries.try_recv().ok()
    }

    /// Exactly `count` deliveries (panics if they do not come in `within`).
    pub async fn take(&mut self, count: usize, within: Duration) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + within;
        let mut got = Vec::with_capacity(count);
        while got.len() < count {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(delivery) => got.push(delivery),
                None => panic!("{} of {count} deliveries came within {within:?}", got.len()),
            }
        }
        got
    }

    /// Nothing more arrives within `quiet`.
    pub async fn assert_quiet(&mut self, quiet: Duration) {
        if let Some(extra) = self.next(quiet).await {
            panic!(
                "an unexpected delivery arrived: {}",
                String::from_utf8_lossy(&extra.body)
            );
        }
    }
}
