//! One HTTP client for the tests: a request with an optional bearer token
//! and JSON body, answered as status, JSON body (with its raw text) and
//! headers.
//!
//! Every answer is checked against two rules of API.md §0 on the way:
//! bodies are JSON, and no object carries an explicit `null` (unset
//! optional fields are omitted). The only nulls allowed are the top-level
//! `event` / `events` keys a mutation answers when it emitted nothing.
//!
//! Requests that carry something other than JSON have their own methods:
//! [`Api::upload`] sends a hand-built multipart body and [`Api::send`] any
//! hand-written body (malformed JSON, a wrong content type); their answers
//! are JSON and checked as any other. [`Api::download`] fetches a body that
//! is not JSON on purpose (a file, the web app's HTML, Prometheus text at
//! `/metrics`), which on success is answered raw, unchecked (its error
//! answers are checked).
//!
//! [`Api::with_header`] adds a header to every request (a cookie, `Origin`,
//! a CSRF token, a correlation id, another `Authorization` scheme), for the
//! tests about what the gateway does with them.

use reqwest::RequestBuilder;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

/// The method type [`Api::call`] takes, so tests need not name reqwest.
pub use reqwest::Method;
/// The type of [`Answer::headers`], so tests need not name reqwest.
pub use reqwest::header::HeaderMap;

/// An answer: status, JSON body, headers and the body's raw text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
    /// The body exactly as the server sent it, before parsing: for
    /// assertions about what is on the wire, such as that a secret appears
    /// nowhere in an answer. Empty for a 204.
    pub text: String,
}

impl Answer {
    /// Asserts the status and answers the body.
    #[track_caller]
    pub fn expect(self, status: u16, context: &str) -> Value {
        assert_eq!(self.status, status, "{context}: {}", self.body);
        self.body
    }

    /// Asserts a success (any 2xx status) and answers the body: for set-up
    /// steps where which success code comes back is not what is tested.
    #[track_caller]
    pub fn expect_success(self, context: &str) -> Value {
        assert!(
            (200..300).contains(&self.status),
            "{context}: expected 2xx, got {}: {}",
            self.status,
            self.body
        );
        self.body
    }

    /// Asserts `{"error": "<non-empty text>"}` with the status; answers the text.
    #[track_caller]
    pub fn expect_error(self, status: u16, context: &str) -> String {
        assert_eq!(self.status, status, "{context}: {}", self.body);
        let text = self.body["error"].as_str().unwrap_or_default().to_owned();
        assert!(
            !text.trim().is_empty(),
            "{context}: an error body must be {{\"error\": \"<text>\"}}, got {}",
            self.body
        );
        text
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The answer of [`Api::download`]: status, headers and the raw body.
#[derive(Debug)]
pub struct Download {
    pub status: u16,
    pub headers: HeaderMap,
    /// The file, byte for byte (on an error status, the JSON error text).
    pub bytes: Vec<u8>,
}

impl Download {
    /// Asserts the status and answers the bytes.
    #[track_caller]
    pub fn expect(self, status: u16, context: &str) -> Vec<u8> {
        assert_eq!(
            self.status,
            status,
            "{context}: {}",
            String::from_utf8_lossy(&self.bytes)
        );
        self.bytes
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A hand-built `multipart/form-data` body for [`Api::upload`], so a test
/// controls every byte of the part (field name, filename, content type).
#[derive(Clone, Debug)]
pub struct Multipart {
    bytes: Vec<u8>,
}

impl Multipart {
    /// The boundary between parts, chosen so no test's content contains it.
    pub const BOUNDARY: &str = "clickclack-testkit-boundary-5f1d3a9c";

    /// A body of one file part: form field `field`, `filename`, the part's
    /// `content_type` and its `content`.
    pub fn file(field: &str, filename: &str, content_type: &str, content: &[u8]) -> Multipart {
        let boundary = Self::BOUNDARY;
        let mut bytes = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; \
             filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .into_bytes();
        bytes.extend_from_slice(content);
        bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        Multipart { bytes }
    }

    /// The request's `Content-Type`, naming the boundary.
    pub fn content_type() -> String {
        format!("multipart/form-data; boundary={}", Self::BOUNDARY)
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// A request body carrying `size` bytes of filler: a one-file upload when
/// `content_type` is multipart (with [`Multipart::BOUNDARY`]), otherwise a
/// JSON message body. For tests of answers given before a body is read.
pub fn sized_body(content_type: &str, size: usize) -> Vec<u8> {
    if content_type.starts_with("multipart/") {
        Multipart::file(
            "file",
            "a.bin",
            "application/octet-stream",
            &vec![b'z'; size],
        )
        .into_bytes()
    } else {
        format!("{{\"body\": \"{}\"}}", "x".repeat(size)).into_bytes()
    }
}

/// The gateway's base URL and a client; cheap to clone.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    /// Sent with every request (see [`Api::with_header`]).
    headers: HeaderMap,
}

impl Api {
    pub fn new(base: impl Into<String>, http: reqwest::Client) -> Api {
        Api {
            base: base.into(),
            http,
            headers: HeaderMap::new(),
        }
    }

    /// This client, sending also `name: value` with every request: for the
    /// tests of what the gateway makes of a header the other methods never
    /// send (a session cookie, `Origin`, a CSRF token, a correlation id,
    /// `Authorization` of another scheme). A token given to a request still
    /// goes in `Authorization: Bearer`, replacing an `Authorization` set here.
    pub fn with_header(&self, name: &str, value: &str) -> Api {
        let mut api = self.clone();
        api.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("a header value"),
        );
        api
    }

    /// A request for `method path` with this client's extra headers; `token`
    /// goes in `Authorization: Bearer`.
    fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut headers = self.headers.clone();
        if token.is_some() {
            headers.remove(reqwest::header::AUTHORIZATION);
        }
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .headers(headers);
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends one request; `token` goes in `Authorization: Bearer`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.request(method.clone(), path, token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let (status, headers, bytes) = exchange(request).await;
        checked(&method, path, status, headers, bytes)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, token, Some(&body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::PATCH, path, token, Some(&body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::PUT, path, token, Some(&body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::DELETE, path, token, None).await
    }

    /// `POST path` (e.g. `/api/uploads?workspace_id=…`) with a hand-built
    /// multipart body; the answer is checked like every other.
    pub async fn upload(&self, path: &str, token: Option<&str>, form: Multipart) -> Answer {
        self.send(
            Method::POST,
            path,
            token,
            &Multipart::content_type(),
            form.bytes,
        )
        .await
    }

    /// Sends `body` exactly as given, as `Content-Type: content_type`: for
    /// the tests of bodies the other methods never send (malformed or
    /// truncated JSON, a content type the route does not take). The answer
    /// is checked like every other.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<Vec<u8>>,
    ) -> Answer {
        let request = self
            .request(method.clone(), path, token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body.into());
        let (status, headers, bytes) = exchange(request).await;
        checked(&method, path, status, headers, bytes)
    }

    /// `GET path` of a body that is not JSON on purpose: a file (e.g.
    /// `/api/uploads/{id}`), the web app (`/`, `/app.js`), Prometheus text
    /// (`/metrics`). A 2xx body is answered raw, unchecked; any other status
    /// is an error answer and must pass the JSON checks like every other.
    pub async fn download(&self, path: &str, token: Option<&str>) -> Download {
        let (status, headers, bytes) = exchange(self.request(Method::GET, path, token)).await;
        if (200..300).contains(&status) {
            return Download {
                status,
                headers,
                bytes,
            };
        }
        let answer = checked(&Method::GET, path, status, headers, bytes);
        Download {
            status: answer.status,
            headers: answer.headers,
            bytes: answer.text.into_bytes(),
        }
    }
}

/// Sends `request`; answers the status, headers and raw body.
async fn exchange(request: RequestBuilder) -> (u16, HeaderMap, Vec<u8>) {
    let response = request.send().await.expect("HTTP request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("response body").to_vec();
    (status, headers, bytes)
}

/// The checks of every answer (module docs): a JSON body, no `null` inside,
/// and an empty body for a 204.
fn checked(method: &Method, path: &str, status: u16, headers: HeaderMap, bytes: Vec<u8>) -> Answer {
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| panic!("{method} {path} answered {status} with a non-UTF-8 body: {e}"));
    if status == 204 {
        assert!(text.is_empty(), "{method} {path} answered 204 with a body");
        return Answer {
            status,
            body: Value::Null,
            headers,
            text,
        };
    }
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("{method} {path} answered {status} with a non-JSON body {text:?}: {e}")
    });
    if let Some(at) = null_inside(&body) {
        panic!("{method} {path} answered a null at {at}: unset fields must be omitted: {body}");
    }
    Answer {
        status,
        body,
        headers,
        text,
    }
}

/// The JSON path of the first `null` below the top level, ignoring the
/// top-level `event` / `events` keys (documented as null when nothing was
/// emitted).
fn null_inside(body: &Value) -> Option<String> {
    fn walk(value: &Value, at: &str) -> Option<String> {
        match value {
            Value::Null => Some(at.to_owned()),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &format!("{at}[{i}]"))),
            Value::Object(fields) => fields
                .iter()
                .find_map(|(key, item)| walk(item, &format!("{at}.{key}"))),
            _ => None,
        }
    }
    match body {
        Value::Object(fields) => fields
            .iter()
            .filter(|(key, value)| !(matches!(key.as_str(), "event" | "events") && value.is_null()))
            .find_map(|(key, value)| walk(value, &format!("$.{key}"))),
        other => walk(other, "$"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Api, Method, Multipart, null_inside};
    use serde_json::json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server for one request that answers `{"head": …, "body": …}`: the
    /// request's lines (lower-cased) and body, as it received them.
    async fn echo_once() -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let read = stream.read(&mut chunk).await.unwrap();
                assert!(read > 0, "the request ended early");
                received.extend_from_slice(&chunk[..read]);
                let text = String::from_utf8_lossy(&received).into_owned();
                let Some((head, body)) = text.split_once("\r\n\r\n") else {
                    continue;
                };
                let head = head.to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length: "))
                    .map_or(0, |n| n.parse().unwrap());
                if body.len() >= length {
                    break (head, body.to_owned());
                }
            };
            let answer = json!({ "head": head, "body": body }).to_string();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            stream.write_all(response.as_bytes()).await.unwrap();
        });
        (base, served)
    }

    #[tokio::test]
    async fn extra_headers_go_with_every_request_and_a_token_replaces_their_authorization() {
        let (base, served) = echo_once().await;
        let api = Api::new(base, reqwest::Client::new())
            .with_header("Origin", "https://app.example")
            .with_header("Authorization", "Basic abc");
        let echoed = api.get("/p", Some("tok")).await.expect(200, "echo");
        served.await.unwrap();
        let head = echoed["head"].as_str().unwrap();
        assert!(head.starts_with("get /p http/1.1\r\n"), "{head}");
        assert!(head.contains("\r\norigin: https://app.example"), "{head}");
        assert!(head.contains("\r\nauthorization: bearer tok"), "{head}");
        assert!(!head.contains("basic"), "{head}");

        let (base, served) = echo_once().await;
        let api = Api::new(base, reqwest::Client::new()).with_header("Authorization", "Basic abc");
        let echoed = api.get("/p", None).await.expect(200, "echo");
        served.await.unwrap();
        let head = echoed["head"].as_str().unwrap();
        assert!(head.contains("\r\nauthorization: basic abc"), "{head}");
    }

    #[tokio::test]
    async fn send_puts_the_body_on_the_wire_as_given() {
        let (base, served) = echo_once().await;
        let echoed = Api::new(base, reqwest::Client::new())
            .send(Method::PATCH, "/q", None, "text/plain", "{not json")
            .await
            .expect(200, "echo");
        served.await.unwrap();
        let head = echoed["head"].as_str().unwrap();
        assert!(head.starts_with("patch /q http/1.1\r\n"), "{head}");
        assert!(head.contains("\r\ncontent-type: text/plain"), "{head}");
        assert_eq!(echoed["body"], "{not json");
    }

    #[test]
    fn a_multipart_file_is_one_part_between_boundaries() {
        let form = Multipart::file("file", "a.txt", "text/plain", b"hi");
        let boundary = Multipart::BOUNDARY;
        assert_eq!(
            String::from_utf8(form.bytes).unwrap(),
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
                 Content-Type: text/plain\r\n\r\nhi\r\n--{boundary}--\r\n"
            )
        );
        assert_eq!(
            Multipart::content_type(),
            format!("multipart/form-data; boundary={boundary}")
        );
    }

    #[test]
    fn finds_nested_nulls_but_allows_an_empty_event() {
        assert_eq!(
            null_inside(&json!({"message": {"id": "m"}, "event": null})),
            None
        );
        assert_eq!(
            null_inside(&json!({"channels": [{"id": "c", "external_ref": null}]})),
            Some("$.channels[0].external_ref".into())
        );
        assert_eq!(null_inside(&json!({"user": null})), Some("$.user".into()));
    }
}
