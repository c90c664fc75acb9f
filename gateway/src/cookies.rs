//! Browser sessions (API.md §1): the web app's session lives in an
//! `HttpOnly` cookie, so no script can read it. Because a browser attaches
//! cookies to requests other sites trigger, a cookie-authenticated unsafe
//! request must also carry the session's CSRF token in `X-ClickClack-CSRF`
//! and come from this origin. Bearer requests need neither.

use crate::error::ApiError;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use clickclack_common::token::{RawToken, sha256};
use subtle::ConstantTimeEq;

pub const SESSION_COOKIE: &str = "cc_session";
/// Readable by the app (it is not the session): the value to echo in
/// [`CSRF_HEADER`] (double submit).
pub const CSRF_COOKIE: &str = "cc_csrf";
pub const CSRF_HEADER: &str = "x-clickclack-csrf";

/// The CSRF token of a session: derived from the session secret, so it is
/// unguessable without it and needs no storage.
pub fn csrf_token(session: &RawToken) -> String {
    let digest = sha256(&[b"clickclack-csrf\0", session.expose().as_bytes()]);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The session cookie, when the request carries one.
pub fn session_from_cookie(headers: &HeaderMap) -> Option<RawToken> {
    cookie(headers, SESSION_COOKIE).map(RawToken::from_presented)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// The credential of a request: `Authorization: Bearer`, else the session
/// cookie (checked against cross-site use).
pub fn credential(method: &Method, headers: &HeaderMap) -> Result<RawToken, ApiError> {
    if headers.contains_key(header::AUTHORIZATION) {
        return crate::auth::bearer_from_headers(headers);
    }
    let session = session_from_cookie(headers)
        .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    check_cookie_request(method, headers, &session)?;
    Ok(session)
}

/// A cookie-authenticated request must come from this origin; an unsafe one
/// must also echo the session's CSRF token.
pub fn check_cookie_request(
    method: &Method,
    headers: &HeaderMap,
    session: &RawToken,
) -> Result<(), ApiError> {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    match headers.get(header::ORIGIN) {
        Some(origin) if !same_origin(origin, headers) => {
            return Err(ApiError::forbidden(
                "cross-origin request with a session cookie refused",
            ));
        }
        None if !safe => {
            return Err(ApiError::forbidden(
                "a cookie-authenticated request needs an Origin header",
            ));
        }
        _ => {}
    }
    if safe {
        return Ok(());
    }
    let expected = csrf_token(session);
    let presented = headers
        .get(CSRF_HEADER)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    if presented.ct_eq(expected.as_bytes()).into() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "missing or wrong X-ClickClack-CSRF header for this session",
        ))
    }
}

/// `Origin: http://host:port` names the host the request went to.
fn same_origin(origin: &HeaderValue, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    origin
        .to_str()
        .ok()
        .and_then(|origin| origin.split_once("://"))
        .is_some_and(|(scheme, rest)| {
            matches!(scheme, "http" | "https") && rest.eq_ignore_ascii_case(host)
        })
}

/// `Set-Cookie` values that start a browser session.
pub fn start_session(session: &RawToken, max_age_seconds: i64, secure: bool) -> [HeaderValue; 2] {
    let secure = if secure { "; Secure" } else { "" };
    let session_cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}",
        session.expose()
    );
    let csrf_cookie = format!(
        "{CSRF_COOKIE}={}; Path=/; SameSite=Lax; Max-Age={max_age_seconds}{secure}",
        csrf_token(session)
    );
    [session_cookie, csrf_cookie].map(|c| HeaderValue::from_str(&c).expect("cookie is ASCII"))
}

/// `Set-Cookie` values that end it.
pub fn end_session() -> [HeaderValue; 2] {
    [SESSION_COOKIE, CSRF_COOKIE].map(|name| {
        HeaderValue::from_str(&format!("{name}=; Path=/; Max-Age=0; SameSite=Lax"))
            .expect("cookie is ASCII")
    })
}

/// Whether cookies must be `Secure`: the deployment is reached over https.
pub fn behind_https(public_url: Option<&str>, headers: &HeaderMap) -> bool {
    public_url.is_some_and(|url| url.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn cookie_requests_need_the_origin_and_the_csrf_token() {
        let session = RawToken::from_presented("sst_secret");
        let csrf = csrf_token(&session);
        let cookie = "cc_session=sst_secret; other=1";
        let ok = headers(&[
            ("cookie", cookie),
            ("host", "chat.test:8080"),
            ("origin", "http://chat.test:8080"),
            ("x-clickclack-csrf", &csrf),
        ]);
        assert_eq!(
            credential(&Method::POST, &ok).unwrap().expose(),
            "sst_secret"
        );
        let no_csrf = headers(&[
            ("cookie", cookie),
            ("host", "chat.test:8080"),
            ("origin", "http://chat.test:8080"),
        ]);
        assert!(credential(&Method::POST, &no_csrf).is_err());
        let cross = headers(&[
            ("cookie", cookie),
            ("host", "chat.test:8080"),
            ("origin", "https://evil.test"),
            ("x-clickclack-csrf", &csrf),
        ]);
        assert!(credential(&Method::POST, &cross).is_err());
        assert!(
            credential(&Method::GET, &cross).is_err(),
            "cross-site reads too"
        );
        let read = headers(&[("cookie", cookie), ("host", "chat.test:8080")]);
        assert!(credential(&Method::GET, &read).is_ok());
        assert!(
            credential(&Method::POST, &read).is_err(),
            "no Origin on a write"
        );
    }
}
