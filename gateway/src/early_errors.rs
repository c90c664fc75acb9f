//! JSON bodies for the errors HTTP parsing produces before any handler runs.
//!
//! When a request cannot even be parsed (a bad request line, a NUL byte in a
//! header, too many or too large headers, a URL longer than the parser
//! takes), hyper answers by itself with an empty 400, 414 or 431 and closes
//! the connection; no middleware sees that request. API.md promises
//! `{"error"}` and `X-Correlation-ID` on every error, so the listener wraps
//! each connection and rewrites exactly those automatic answers on their way
//! out. They are recognisable: a complete 400/414/431 head with an empty
//! body and no `x-correlation-id`, which every answer the application itself
//! gives carries.

use axum::serve::Listener;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A listener whose connections carry JSON bodies on parse-error answers.
pub struct JsonParseErrors<L>(pub L);

impl<L: Listener> Listener for JsonParseErrors<L> {
    type Io = RewriteParseErrors<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.0.accept().await;
        (
            RewriteParseErrors {
                inner: io,
                pending: Vec::new(),
                written: 0,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The client's address, as handlers see it (`ConnectInfo<ClientAddr>`).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::SocketAddr);

impl<L> axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, JsonParseErrors<L>>>
    for ClientAddr
where
    L: Listener<Addr = std::net::SocketAddr>,
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, JsonParseErrors<L>>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// One connection; see the module documentation.
pub struct RewriteParseErrors<S> {
    inner: S,
    /// A rewritten answer still being written, and how much of it went out.
    pending: Vec<u8>,
    written: usize,
}

impl<S: AsyncWrite + Unpin> RewriteParseErrors<S> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// Takes over `head` when it is an automatic parse-error answer.
    fn rewrite(&mut self, head: &[u8]) -> bool {
        match rewritten(head) {
            Some(answer) => {
                self.pending = answer;
                self.written = 0;
                true
            }
            None => false,
        }
    }
}

/// The JSON answer that replaces an automatic parse-error `head`, if it is one.
fn rewritten(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let rest = text
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| text.strip_prefix("HTTP/1.0 "))?;
    let message = match rest.get(..3)? {
        "400" => "malformed request: the request line or a header is not valid HTTP",
        "414" => "the URL is too long",
        "431" => "the request headers are too large or too many",
        _ => return None,
    };
    // A complete head with no body, and not one of the application's own.
    if text.find("\r\n\r\n")? + 4 != text.len() {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("\r\nx-correlation-id:") || lower.contains("\r\ncontent-type:") {
        return None;
    }
    let status_line = &text[..text.find("\r\n")?];
    let body = serde_json::json!({ "error": message }).to_string();
    let correlation_id = clickclack_common::ids::new_ulid();
    Some(
        format!(
            "{status_line}\r\ncontent-type: application/json\r\nx-correlation-id: {correlation_id}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for RewriteParseErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for RewriteParseErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if self.rewrite(buf) {
            // The original is accounted for; the replacement goes out now
            // or on the next flush.
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if let Some(head) = bufs.iter().find(|b| !b.is_empty())
            && head.len() == total
            && self.rewrite(head)
        {
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(total));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::rewritten;

    #[test]
    fn only_automatic_parse_error_answers_are_rewritten() {
        let automatic = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 12:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(rewritten(automatic).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(answer.contains("x-correlation-id: "));
        assert!(answer.ends_with("\"}"));
        // The application's own answers carry a correlation id.
        let own = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nx-correlation-id: a\r\ncontent-length: 0\r\n\r\n";
        assert!(rewritten(own).is_none());
        assert!(rewritten(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        // A head followed by body bytes is not an automatic answer.
        assert!(rewritten(b"HTTP/1.1 400 Bad Request\r\n\r\nbody").is_none());
        assert!(rewritten(b"some body bytes").is_none());
    }
}
