//! The SDK's error type. No variant ever carries the bearer token: requests
//! send it in a header marked sensitive, and nothing here records headers.

use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-2xx status. `message` is the text of
    /// the `{"error": ...}` body (or a short excerpt of whatever came back).
    #[error("ClickClack API error {status}: {message}")]
    Api {
        status: u16,
        message: String,
        /// From `Retry-After` (delta-seconds) on a 429.
        retry_after: Option<Duration>,
    },

    /// The request never got an HTTP answer (connect, timeout, body read).
    #[error("HTTP transport error: {0}")]
    Http(#[source] reqwest::Error),

    /// The WebSocket failed to open or broke.
    #[error("WebSocket error: {0}")]
    WebSocket(#[source] Box<tokio_tungstenite::tungstenite::Error>),

    /// A 2xx answer whose body is not what the API promises.
    #[error("unexpected response body from {context}: {source}")]
    Decode {
        context: String,
        #[source]
        source: serde_json::Error,
    },

    /// The TLS handshake with the server failed: most often its certificate
    /// is not issued by a CA this client trusts (see
    /// [`crate::ClientBuilder::extra_root_ca_pem`] and `CLICKCLACK_CA_CERT`),
    /// has expired, or names another host. Not transient: retrying cannot
    /// help until the certificate or the trusted roots change.
    #[error("TLS handshake with {host} failed: {source}{}", tls_hint(.source))]
    Tls {
        host: String,
        #[source]
        source: rustls::Error,
    },

    /// TLS could not be set up: an extra CA that cannot be read or is not a
    /// PEM certificate.
    #[error("TLS configuration: {0}")]
    TlsConfig(String),

    #[error("invalid base URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// The token contains characters an HTTP header cannot carry.
    #[error("the token is not a valid HTTP header value")]
    InvalidToken,

    /// The realtime socket was closed with 1008: the token was revoked or the
    /// bot was removed from the workspace. Retrying cannot help.
    #[error("access revoked (WebSocket close 1008): {reason}")]
    Revoked { reason: String },

    /// The token can see no workspace, so the bot has nothing to follow.
    #[error("the token belongs to no workspace")]
    NoWorkspace,

    /// The cursor store could not be read.
    #[error("cursor store: {0}")]
    CursorStore(#[source] std::io::Error),

    /// A builder was used without a required part, or [`crate::Client::from_env`]
    /// found a variable unset.
    #[error("configuration: {0}")]
    Config(&'static str),
}

impl Error {
    /// The HTTP status of an [`Error::Api`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the server asked us to wait (429 `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// True when the credentials themselves were refused (401, 403, or a
    /// 1008 close): retrying with the same token cannot succeed.
    pub fn is_access_denied(&self) -> bool {
        matches!(self.status(), Some(401 | 403)) || matches!(self, Error::Revoked { .. })
    }

    /// True for failures that may go away on their own: transport errors,
    /// 408, 429 and 5xx. A refused TLS handshake ([`Error::Tls`]) is not one.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Http(_) | Error::WebSocket(_) => true,
            Error::Api { status, .. } => matches!(status, 408 | 429 | 500..=599),
            _ => false,
        }
    }
}

impl From<reqwest::Error> for Error {
    /// A failed TLS handshake becomes [`Error::Tls`], anything else
    /// [`Error::Http`].
    fn from(error: reqwest::Error) -> Self {
        match crate::tls::find_tls_error(&error) {
            Some(source) => Error::Tls {
                host: error
                    .url()
                    .and_then(|url| url.host_str())
                    .unwrap_or("the server")
                    .to_owned(),
                source,
            },
            None => Error::Http(error),
        }
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for Error {
    fn from(error: tokio_tungstenite::tungstenite::Error) -> Self {
        Error::WebSocket(Box::new(error))
    }
}

/// A pointer to the fix when the server's certificate was refused.
fn tls_hint(error: &rustls::Error) -> &'static str {
    match error {
        rustls::Error::InvalidCertificate(_) => {
            " (if the server uses a private CA, trust it with ClientBuilder::extra_root_ca_pem \
             or CLICKCLACK_CA_CERT)"
        }
        _ => "",
    }
}

/// The longest excerpt of a non-JSON error body kept in [`Error::Api`].
const EXCERPT_CHARS: usize = 200;

/// Builds [`Error::Api`] from a failed answer's parts.
pub(crate) fn api_error(status: u16, retry_after: Option<&str>, body: &[u8]) -> Error {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
    }
    let message = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) => parsed.error,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                format!("HTTP {status} with no error text")
            } else {
                text.chars().take(EXCERPT_CHARS).collect()
            }
        }
    };
    let retry_after = if status == 429 {
        retry_after
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    } else {
        None
    };
    Error::Api {
        status,
        message,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_take_the_error_text_and_retry_after() {
        let error = api_error(429, Some("3"), br#"{"error":"slow down","extra":1}"#);
        assert_eq!(error.status(), Some(429));
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(error.to_string(), "ClickClack API error 429: slow down");
        assert!(error.is_transient());

        let error = api_error(403, Some("3"), b"<html>nope</html>");
        assert_eq!(error.retry_after(), None, "only a 429 carries Retry-After");
        assert!(error.is_access_denied());
        assert!(error.to_string().contains("<html>nope</html>"));

        let error = api_error(502, None, b"");
        assert!(error.to_string().contains("no error text"));
    }
}
