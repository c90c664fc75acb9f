//! One HTTP client for the tests: a request with an optional bearer token
//! and JSON body, answered as status, JSON body and headers.
//!
//! Every answer is checked against two rules of API.md §0 on the way:
//! bodies are JSON, and no object carries an explicit `null` (unset
//! optional fields are omitted). The only nulls allowed are the top-level
//! `event` / `events` keys a mutation answers when it emitted nothing.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// An answer: status, JSON body and headers.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Answer {
    /// Asserts the status and answers the body.
    #[track_caller]
    pub fn expect(self, status: u16, context: &str) -> Value {
        assert_eq!(self.status, status, "{context}: {}", self.body);
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

/// The gateway's base URL and a client; cheap to clone.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: impl Into<String>, http: reqwest::Client) -> Api {
        Api {
            base: base.into(),
            http,
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
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("HTTP request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        if status == 204 {
            assert!(text.is_empty(), "{method} {path} answered 204 with a body");
            return Answer {
                status,
                body: Value::Null,
                headers,
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
        }
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
    use super::null_inside;
    use serde_json::json;

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
