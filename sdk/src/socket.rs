//! Opening the realtime WebSocket.
//!
//! The HTTP upgrade is written here rather than by tungstenite's client
//! handshake because tungstenite logs the whole upgrade request, bearer
//! token included, at TRACE level, and a bot's logs must never hold its
//! token. Once the server has answered 101, tungstenite takes over the
//! connection as usual.
//!
//! `wss://` runs the same upgrade over TLS, with the client's rustls config
//! (the one its HTTP client uses).

use crate::error::{Error, api_error};
use crate::tls;
use reqwest::header::HeaderValue;
use std::io;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_util::either::Either;
use url::Url;

/// Plain TCP for `ws://`, TLS over TCP for `wss://`.
pub(crate) type Stream = Either<TcpStream, Box<TlsStream<TcpStream>>>;
pub(crate) type Socket = WebSocketStream<Stream>;

/// Largest response head accepted during the upgrade.
const MAX_HEAD: usize = 64 * 1024;
/// Largest error body read from a refused upgrade.
const MAX_ERROR_BODY: usize = 64 * 1024;

fn io_error(error: io::Error) -> Error {
    Error::WebSocket(Box::new(tungstenite::Error::Io(error)))
}

fn invalid(what: &str) -> Error {
    io_error(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("WebSocket handshake: {what}"),
    ))
}

/// Opens `url` (`ws://` or `wss://`) as a WebSocket, sending
/// `authorization` as the `Authorization` header; `wss://` is verified with
/// `tls`. A refused upgrade comes back as [`Error::Api`] with the server's
/// status and `{"error"}` text, a refused TLS handshake as [`Error::Tls`].
pub(crate) async fn connect(
    url: &Url,
    authorization: &HeaderValue,
    config: WebSocketConfig,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Socket, Error> {
    let secure = match url.scheme() {
        "ws" => false,
        "wss" => true,
        _ => return Err(invalid("the URL is not ws:// or wss://")),
    };
    let host = url
        .host_str()
        .ok_or_else(|| invalid("the URL has no host"))?;
    let port = url
        .port_or_known_default()
        .unwrap_or(if secure { 443 } else { 80 });
    let tcp = TcpStream::connect(format!("{host}:{port}"))
        .await
        .map_err(io_error)?;
    // Frames are small and latency matters more than packing.
    let _ = tcp.set_nodelay(true);
    let mut stream: Stream = if secure {
        let name =
            tls::server_name(url).ok_or_else(|| invalid("the host is not a valid TLS name"))?;
        let connected = TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|error| match tls::find_tls_error(&error) {
                Some(source) => Error::Tls {
                    host: host.to_owned(),
                    source,
                },
                None => io_error(error),
            })?;
        Either::Right(Box::new(connected))
    } else {
        Either::Left(tcp)
    };

    let key = generate_key();
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let host_header = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let mut request = format!(
        "GET {target} HTTP/1.1\r\n\
         Host: {host_header}\r\n\
         Connection: Upgrade\r\n\
         Upgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: {key}\r\n\
         Authorization: "
    )
    .into_bytes();
    request.extend_from_slice(authorization.as_bytes());
    request.extend_from_slice(b"\r\n\r\n");
    stream.write_all(&request).await.map_err(io_error)?;
    // TLS buffers what is written until flushed.
    stream.flush().await.map_err(io_error)?;

    // The response head; whatever follows it (the first frames of the
    // replay, or an error body) stays in `rest`.
    let mut buffer = Vec::with_capacity(1024);
    let head_len = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > MAX_HEAD {
            return Err(invalid("the response head is too large"));
        }
        if read_some(&mut stream, &mut buffer).await? == 0 {
            return Err(io_error(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection during the WebSocket handshake",
            )));
        }
    };
    let rest = buffer.split_off(head_len);
    let head = Head::parse(&buffer)?;

    if head.status != 101 {
        let wanted = head
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(rest.len())
            .min(MAX_ERROR_BODY);
        let mut body = rest;
        while body.len() < wanted {
            if read_some(&mut stream, &mut body).await? == 0 {
                break;
            }
        }
        body.truncate(wanted);
        return Err(api_error(head.status, head.header("retry-after"), &body));
    }
    let upgraded = head
        .header("upgrade")
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgraded {
        return Err(invalid("the 101 answer does not upgrade to websocket"));
    }
    if head.header("sec-websocket-accept") != Some(derive_accept_key(key.as_bytes()).as_str()) {
        return Err(invalid("Sec-WebSocket-Accept does not match the key"));
    }
    Ok(WebSocketStream::from_partially_read(stream, rest, Role::Client, Some(config)).await)
}

async fn read_some(
    stream: &mut (impl AsyncRead + Unpin),
    buffer: &mut Vec<u8>,
) -> Result<usize, Error> {
    let mut chunk = [0u8; 4096];
    let read = stream.read(&mut chunk).await.map_err(io_error)?;
    buffer.extend_from_slice(&chunk[..read]);
    Ok(read)
}

/// A parsed HTTP/1.1 response head.
struct Head {
    status: u16,
    /// Names lowercased.
    headers: Vec<(String, String)>,
}

impl Head {
    fn parse(raw: &[u8]) -> Result<Head, Error> {
        let text =
            std::str::from_utf8(raw).map_err(|_| invalid("the response head is not UTF-8"))?;
        let mut lines = text.split("\r\n").filter(|line| !line.is_empty());
        let status = lines
            .next()
            .filter(|line| line.starts_with("HTTP/1."))
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| invalid("the answer is not an HTTP/1.x response"))?;
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        Ok(Head { status, headers })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_heads_parse() {
        let head = Head::parse(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept:  abc= \r\n\r\n",
        )
        .unwrap();
        assert_eq!(head.status, 101);
        assert_eq!(head.header("upgrade"), Some("websocket"));
        assert_eq!(head.header("sec-websocket-accept"), Some("abc="));
        assert_eq!(head.header("missing"), None);

        assert!(Head::parse(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(Head::parse(b"HTTP/1.1 abc\r\n\r\n").is_err());
    }
}
