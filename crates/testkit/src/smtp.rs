//! A small SMTP server for tests: it speaks enough real SMTP over TCP for a
//! mail client to deliver to it, and records every message it accepts.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One delivered message: envelope and raw data (headers and body).
#[derive(Debug, Clone)]
pub struct Delivered {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Delivered {
    /// The message as a person reads it: quoted-printable soft line breaks
    /// joined and `=XX` escapes decoded (what a mail client shows).
    pub fn text(&self) -> String {
        let joined = self.data.replace("=\r\n", "").replace("=\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// A listening SMTP server; `url()` is what `CLICKCLACK_SMTP_URL` takes.
pub struct SmtpSink {
    pub port: u16,
    delivered: Arc<Mutex<Vec<Delivered>>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let port = listener.local_addr().expect("addr").port();
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let (store, notify) = (delivered.clone(), arrived.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, notify) = (store.clone(), notify.clone());
                tokio::spawn(async move {
                    let _ = session(stream, store, notify).await;
                });
            }
        });
        SmtpSink {
            port,
            delivered,
            arrived,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn delivered(&self) -> Vec<Delivered> {
        self.delivered.lock().expect("lock").clone()
    }

    /// Waits until at least `count` messages arrived (panics after `wait`).
    pub async fn wait_for(&self, count: usize, wait: Duration) -> Vec<Delivered> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.arrived.notified();
            let now = self.delivered();
            if now.len() >= count {
                return now;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "{count} message(s) expected, {} arrived",
                    self.delivered().len()
                );
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Delivered>>>,
    notify: Arc<Notify>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 testkit SMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-testkit\r\n250 8BITMIME\r\n",
            "HELO" | "NOOP" => b"250 ok\r\n",
            "RSET" => {
                from.clear();
                to.clear();
                b"250 ok\r\n"
            }
            "MAIL" => {
                from = address(&command);
                b"250 ok\r\n"
            }
            "RCPT" => {
                to.push(address(&command));
                b"250 ok\r\n"
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    // Dot-stuffing: a leading ".." stands for ".".
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                store.lock().expect("lock").push(Delivered {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
                notify.notify_waiters();
                b"250 queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// `MAIL FROM:<a@b> SIZE=1` → `a@b`.
fn address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}
