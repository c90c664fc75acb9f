//! The typed HTTP client.

use crate::backoff::Backoff;
use crate::error::{Error, Result, api_error};
use crate::socket::{self, Socket};
use crate::tls;
use crate::types::{
    Channel, Event, EventPage, Message, MessagePage, Posted, Thread, ThreadState, User, Workspace,
};
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Method, RequestBuilder};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use url::Url;

/// No single request may hang a bot forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The server may send frames of 1 MiB and more; `API.md` says allow 16 MiB.
const MAX_FRAME: usize = 16 * 1024 * 1024;

/// An async client for one ClickClack deployment and one bearer token (a
/// bot's `ccb_...` token or a human session token). Cheap to clone.
///
/// `Debug` shows the base URL only; the token is kept in a header value
/// marked sensitive and is never formatted.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    /// `Bearer <token>`, marked sensitive.
    authorization: HeaderValue,
    /// For `wss://` (the HTTP client was built with the same config).
    tls: Arc<rustls::ClientConfig>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Paging for [`Client::list_messages`]. The seq cursors are exclusive and
/// mutually exclusive; with none, the newest page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageQuery {
    pub after_seq: Option<i64>,
    pub before_seq: Option<i64>,
    pub around_seq: Option<i64>,
    /// 1..=200, server default 100.
    pub limit: Option<u32>,
}

impl MessageQuery {
    /// Messages after `seq`, oldest first.
    pub fn after(seq: i64) -> Self {
        MessageQuery {
            after_seq: Some(seq),
            ..Default::default()
        }
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// Paging for [`Client::thread_page`]; the default is the earliest page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadQuery {
    pub after_seq: Option<i64>,
    pub before_seq: Option<i64>,
    /// The newest page instead of the earliest.
    pub latest: bool,
    pub limit: Option<u32>,
}

/// The environment variables [`Client::from_env`] reads.
pub const ENV_URL: &str = "CLICKCLACK_URL";
pub const ENV_TOKEN: &str = "CLICKCLACK_TOKEN";
/// A path to a PEM file of extra CA certificates to trust (optional).
pub const ENV_CA_CERT: &str = "CLICKCLACK_CA_CERT";

/// Configures a [`Client`]; see [`Client::builder`].
pub struct ClientBuilder {
    base_url: String,
    token: String,
    extra_roots: Vec<ExtraRoot>,
    http: Option<reqwest::Client>,
}

enum ExtraRoot {
    Pem(Vec<u8>),
    File(PathBuf),
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("extra_roots", &self.extra_roots.len())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Also trust the CA certificate(s) in `pem` (one or more `CERTIFICATE`
    /// blocks), on top of the system's roots, for HTTP and the realtime
    /// WebSocket alike: for a deployment whose certificate comes from a
    /// private CA. May be called more than once.
    pub fn extra_root_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(ExtraRoot::Pem(pem.into()));
        self
    }

    /// Like [`ClientBuilder::extra_root_ca_pem`], reading the PEM file at
    /// `path` when the client is built.
    pub fn extra_root_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.extra_roots.push(ExtraRoot::File(path.into()));
        self
    }

    /// Your own `reqwest::Client` for HTTP (timeouts, proxies, connection
    /// pool). Its own TLS settings then apply to HTTP; the extra CAs given
    /// here still apply to the WebSocket.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    pub fn build(self) -> Result<Client> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: self.base_url.clone(),
            reason: reason.to_owned(),
        };
        let base = Url::parse(&self.base_url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if base.host_str().is_none() || base.query().is_some() || base.fragment().is_some() {
            return Err(invalid(
                "expected a plain http(s)://host[:port][/prefix] URL",
            ));
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", self.token))
            .map_err(|_| Error::InvalidToken)?;
        authorization.set_sensitive(true);

        let mut extra = Vec::new();
        for root in &self.extra_roots {
            extra.extend(match root {
                ExtraRoot::Pem(pem) => tls::parse_pem(pem, "extra CA certificate")?,
                ExtraRoot::File(path) => {
                    let origin = format!("CA file {}", path.display());
                    let pem = std::fs::read(path).map_err(|error| {
                        Error::TlsConfig(format!("{origin}: cannot read it: {error}"))
                    })?;
                    tls::parse_pem(&pem, &origin)?
                }
            });
        }
        let tls = tls::client_config(&extra)?;
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .connect_timeout(CONNECT_TIMEOUT)
                .tls_backend_preconfigured(tls.clone())
                .build()?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                authorization,
                tls: Arc::new(tls),
            }),
        })
    }
}

impl Client {
    /// A client for the gateway at `base_url` (e.g. `http://127.0.0.1:8080`
    /// or `https://app.clickclack.chat`, optionally with a path prefix) with
    /// default timeouts. `https://` is verified against the system's trust
    /// roots; the realtime WebSocket follows the scheme (`ws://` or
    /// `wss://`). For a private CA use [`Client::builder`].
    pub fn new(base_url: &str, token: impl Into<String>) -> Result<Client> {
        Self::builder(base_url, token).build()
    }

    /// Configures a client: extra trusted CAs, your own `reqwest::Client`.
    pub fn builder(base_url: &str, token: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_owned(),
            token: token.into(),
            extra_roots: Vec::new(),
            http: None,
        }
    }

    /// A client configured by the environment: `CLICKCLACK_URL`,
    /// `CLICKCLACK_TOKEN` and, optionally, `CLICKCLACK_CA_CERT` (a PEM file
    /// of extra CA certificates to trust).
    pub fn from_env() -> Result<Client> {
        let url = std::env::var(ENV_URL).map_err(|_| Error::Config("CLICKCLACK_URL is not set"))?;
        let token =
            std::env::var(ENV_TOKEN).map_err(|_| Error::Config("CLICKCLACK_TOKEN is not set"))?;
        let mut builder = Self::builder(&url, token);
        if let Some(path) = std::env::var_os(ENV_CA_CERT).filter(|path| !path.is_empty()) {
            builder = builder.extra_root_ca_file(path);
        }
        builder.build()
    }

    /// Like [`Client::new`] with your own `reqwest::Client` (timeouts,
    /// proxies, connection pool); see [`ClientBuilder::http_client`].
    pub fn with_http_client(
        base_url: &str,
        token: impl Into<String>,
        http: reqwest::Client,
    ) -> Result<Client> {
        Self::builder(base_url, token).http_client(http).build()
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// `GET /api/me`: the token's own user.
    pub async fn me(&self) -> Result<User> {
        #[derive(Deserialize)]
        struct Body {
            user: User,
        }
        let body: Body = self.get(&["api", "me"], &[]).await?;
        Ok(body.user)
    }

    /// `GET /api/workspaces`: the caller's workspaces (a bot token: exactly
    /// its own).
    pub async fn workspaces(&self) -> Result<Vec<Workspace>> {
        #[derive(Deserialize)]
        struct Body {
            workspaces: Vec<Workspace>,
        }
        let body: Body = self.get(&["api", "workspaces"], &[]).await?;
        Ok(body.workspaces)
    }

    /// `GET /api/workspaces/{id}/channels`.
    pub async fn channels(&self, workspace_id: &str) -> Result<Vec<Channel>> {
        #[derive(Deserialize)]
        struct Body {
            channels: Vec<Channel>,
        }
        let body: Body = self
            .get(&["api", "workspaces", workspace_id, "channels"], &[])
            .await?;
        Ok(body.channels)
    }

    /// `POST /api/channels/{id}/messages`. With a `nonce`, repeating the call
    /// returns the original message (`created: false`) instead of posting
    /// twice, so retries are safe. Without one a random nonce is used. A
    /// transient failure (a dropped connection, 408, 429, 5xx) is retried up
    /// to [`WRITE_ATTEMPTS`] times in all with the same nonce.
    pub async fn post_message(
        &self,
        channel_id: &str,
        text: &str,
        nonce: Option<&str>,
    ) -> Result<Posted> {
        self.post_new(&["api", "channels", channel_id, "messages"], text, nonce)
            .await
    }

    /// `POST /api/messages/{id}/thread/replies`: a reply in the thread of
    /// `root_message_id` (a reply's id is accepted too and lands under the
    /// same root). `nonce` works as for [`Client::post_message`].
    pub async fn reply_in_thread(
        &self,
        root_message_id: &str,
        text: &str,
        nonce: Option<&str>,
    ) -> Result<Posted> {
        self.post_new(
            &["api", "messages", root_message_id, "thread", "replies"],
            text,
            nonce,
        )
        .await
    }

    /// `GET /api/messages/{id}`.
    pub async fn get_message(&self, message_id: &str) -> Result<Message> {
        #[derive(Deserialize)]
        struct Body {
            message: Message,
        }
        let body: Body = self.get(&["api", "messages", message_id], &[]).await?;
        Ok(body.message)
    }

    /// `GET /api/channels/{id}/messages`: top-level messages, ascending.
    pub async fn list_messages(
        &self,
        channel_id: &str,
        query: &MessageQuery,
    ) -> Result<MessagePage> {
        let mut params = Vec::new();
        push(&mut params, "after_seq", query.after_seq);
        push(&mut params, "before_seq", query.before_seq);
        push(&mut params, "around_seq", query.around_seq);
        push(&mut params, "limit", query.limit);
        self.get(&["api", "channels", channel_id, "messages"], &params)
            .await
    }

    /// `GET /api/messages/{id}/thread`: the root and its earliest replies.
    pub async fn thread(&self, root_message_id: &str) -> Result<Thread> {
        self.thread_page(root_message_id, &ThreadQuery::default())
            .await
    }

    /// `GET /api/messages/{id}/thread` with paging.
    pub async fn thread_page(&self, root_message_id: &str, query: &ThreadQuery) -> Result<Thread> {
        let mut params = Vec::new();
        push(&mut params, "after_seq", query.after_seq);
        push(&mut params, "before_seq", query.before_seq);
        push(&mut params, "limit", query.limit);
        if query.latest {
            params.push(("latest", "true".to_owned()));
        }
        self.get(&["api", "messages", root_message_id, "thread"], &params)
            .await
    }

    /// `GET /api/realtime/events`: durable events after `after_cursor`
    /// (from the start of the log when `None`), ascending. `limit` is
    /// 1..=500 (server default 200). `include_tail` also returns the newest
    /// visible cursor, which is where a bot with no history starts.
    pub async fn events(
        &self,
        workspace_id: &str,
        after_cursor: Option<&str>,
        limit: Option<u32>,
        include_tail: bool,
    ) -> Result<EventPage> {
        let mut params = vec![("workspace_id", workspace_id.to_owned())];
        if let Some(cursor) = after_cursor.filter(|c| !c.is_empty()) {
            params.push(("after_cursor", cursor.to_owned()));
        }
        push(&mut params, "limit", limit);
        if include_tail {
            params.push(("include_tail", "true".to_owned()));
        }
        self.get(&["api", "realtime", "events"], &params).await
    }

    /// Opens `GET /api/realtime/ws?workspace_id=&after_cursor=`, with the
    /// token in the upgrade's `Authorization` header. A refused upgrade
    /// comes back as [`Error::Api`] with the server's status and text.
    pub(crate) async fn open_socket(
        &self,
        workspace_id: &str,
        after_cursor: &str,
    ) -> Result<Socket> {
        let mut url = self.websocket_url(&["api", "realtime", "ws"]);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("workspace_id", workspace_id);
            if !after_cursor.is_empty() {
                query.append_pair("after_cursor", after_cursor);
            }
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME));
        socket::connect(&url, &self.inner.authorization, config, &self.inner.tls).await
    }

    /// The base URL with `segments` appended as path segments (escaped, so
    /// an id can never change the route).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .expect("checked in Client::new: the base URL can be a base")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// Like [`Client::url`] with the WebSocket scheme that matches the
    /// base: `https` becomes `wss`, `http` becomes `ws`.
    fn websocket_url(&self, segments: &[&str]) -> Url {
        let mut url = self.url(segments);
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .expect("http(s) and ws(s) are all special schemes");
        url
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.inner
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.inner.authorization.clone())
    }

    async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        params: &[(&str, String)],
    ) -> Result<T> {
        let mut url = self.url(segments);
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
        let request = self.request(Method::GET, url);
        let (_, body) = self.send(request).await?;
        decode(segments, &body)
    }

    async fn post_new(&self, segments: &[&str], text: &str, nonce: Option<&str>) -> Result<Posted> {
        #[derive(Deserialize)]
        struct Body {
            message: Message,
            #[serde(default)]
            event: Option<Event>,
            #[serde(default)]
            events: Option<Vec<Event>>,
            #[serde(default)]
            thread_state: Option<ThreadState>,
        }
        // Every write carries a nonce, so a retry can never post twice: a
        // 5xx or a dropped connection means "outcome unknown", and the same
        // nonce makes the server return the original if it was committed.
        let nonce = nonce.map_or_else(new_nonce, str::to_owned);
        let payload = json!({ "body": text, "nonce": nonce });
        let mut backoff = Backoff::new(WRITE_RETRY_BASE, WRITE_RETRY_CAP);
        let (status, body) = loop {
            let request = self
                .request(Method::POST, self.url(segments))
                .json(&payload);
            match self.send(request).await {
                Ok(answer) => break answer,
                Err(error) if error.is_transient() && backoff.attempt() + 1 < WRITE_ATTEMPTS => {
                    let wait = error
                        .retry_after()
                        .unwrap_or_else(|| backoff.next_delay())
                        .min(WRITE_RETRY_CAP);
                    tracing::warn!(%error, attempt = backoff.attempt(), ?wait, "write outcome unknown; retrying with the same nonce");
                    if error.retry_after().is_some() {
                        backoff.next_delay();
                    }
                    tokio::time::sleep(wait).await;
                }
                Err(error) => return Err(error),
            }
        };
        let body: Body = decode(segments, &body)?;
        let mut events = body.events.unwrap_or_default();
        events.extend(body.event);
        Ok(Posted {
            message: body.message,
            // 201 for a new message; 200 when the nonce matched an earlier one.
            created: status == reqwest::StatusCode::CREATED,
            events,
            thread_state: body.thread_state,
        })
    }

    /// Sends the request; any non-2xx becomes [`Error::Api`].
    async fn send(&self, request: RequestBuilder) -> Result<(reqwest::StatusCode, Vec<u8>)> {
        let response = request.send().await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await?;
        if !status.is_success() {
            return Err(api_error(status.as_u16(), retry_after.as_deref(), &body));
        }
        Ok((status, body.to_vec()))
    }
}

/// How many times a write is sent at most when its outcome is unknown.
pub const WRITE_ATTEMPTS: u32 = 4;
const WRITE_RETRY_BASE: Duration = Duration::from_millis(200);
const WRITE_RETRY_CAP: Duration = Duration::from_secs(5);

/// A fresh nonce for a write the caller gave none.
fn new_nonce() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sdk-{hex}")
}

fn push<T: ToString>(
    params: &mut Vec<(&'static str, String)>,
    key: &'static str,
    value: Option<T>,
) {
    if let Some(value) = value {
        params.push((key, value.to_string()));
    }
}

fn decode<T: DeserializeOwned>(segments: &[&str], body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|source| Error::Decode {
        context: format!("/{}", segments.join("/")),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_escape_ids_and_keep_a_path_prefix() {
        let client = Client::new("http://example.test:8080/chat/", "ccb_secret").unwrap();
        assert_eq!(
            client.url(&["api", "messages", "msg_1/../x?y"]).as_str(),
            "http://example.test:8080/chat/api/messages/msg_1%2F..%2Fx%3Fy"
        );
        let client = Client::new("http://example.test", "ccb_secret").unwrap();
        assert_eq!(
            client.url(&["api", "me"]).as_str(),
            "http://example.test/api/me"
        );
    }

    #[test]
    fn the_websocket_follows_the_base_scheme() {
        let client = Client::new("https://example.test/chat", "t").unwrap();
        assert_eq!(
            client.websocket_url(&["api", "realtime", "ws"]).as_str(),
            "wss://example.test/chat/api/realtime/ws"
        );
        let client = Client::new("http://example.test:8080", "t").unwrap();
        assert_eq!(
            client.websocket_url(&["api", "realtime", "ws"]).as_str(),
            "ws://example.test:8080/api/realtime/ws"
        );
        let client = Client::new("https://example.test:443", "t").unwrap();
        assert_eq!(
            client.websocket_url(&["x"]).as_str(),
            "wss://example.test/x"
        );
    }

    #[test]
    fn extra_cas_must_be_certificates() {
        let built = Client::builder("https://example.test", "t")
            .extra_root_ca_pem("no certificate here")
            .build();
        assert!(matches!(built, Err(Error::TlsConfig(_))), "{built:?}");
        let built = Client::builder("https://example.test", "t")
            .extra_root_ca_file("/nonexistent/ca.pem")
            .build();
        let error = built.unwrap_err();
        assert!(matches!(error, Error::TlsConfig(_)), "{error}");
        assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let client = Client::new("http://example.test", "ccb_topsecret").unwrap();
        let builder = Client::builder("http://example.test", "ccb_topsecret");
        let shown = format!("{client:?} {:?} {builder:?}", client.inner.authorization);
        assert!(!shown.contains("topsecret"), "{shown}");
    }

    #[test]
    fn bad_base_urls_and_tokens_are_refused() {
        for url in [
            "ftp://example.test",
            "ws://example.test",
            "http://x.test/?q=1",
        ] {
            assert!(
                matches!(Client::new(url, "t"), Err(Error::InvalidUrl { .. })),
                "{url}"
            );
        }
        assert!(matches!(
            Client::new("not a url", "t"),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            Client::new("http://example.test", "bad\ntoken"),
            Err(Error::InvalidToken)
        ));
    }
}
