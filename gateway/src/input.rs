//! The edge's first look at every request, before any handler or service
//! sees it: hostile input is refused here with a 400, so it can never reach
//! Postgres (a NUL character), a gRPC status or metadata (an id of many
//! kilobytes), or another caller's shared connection.
//!
//! - Path: each segment is percent-decoded; control characters (NUL
//!   included) and segments over [`MAX_SEGMENT`] bytes are refused, and a
//!   resource id in a known position must be a well-formed id of its kind
//!   (`msg_` + 1-64 of `[A-Za-z0-9_-]`, ...).
//! - Query: control characters and values over [`MAX_QUERY_VALUE`] bytes
//!   are refused.
//! - Bodies (except multipart uploads) are read here, up to the JSON limit
//!   (what lies beyond it is drained by [`crate::unread_body`]). A JSON body's strings must not contain NUL, and
//!   every `*_id` / `*_ids` value must look like an id, a slug or a handle.

use crate::error::ApiError;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clickclack_common::ids;
use serde_json::Value;

/// Longest path segment after percent-decoding (ids are at most 70).
pub const MAX_SEGMENT: usize = 128;
/// Longest query-string value after decoding.
pub const MAX_QUERY_VALUE: usize = 4096;
/// Longest value of a `*_id` field in a JSON body (ids, slugs, handles).
const MAX_ID_FIELD: usize = 96;

/// The id kind expected right after each resource area in `/api/{area}/{id}`,
/// and the literal words that may stand there instead.
const AREAS: &[(&str, &str, &[&str])] = &[
    ("channels", ids::CHANNEL, &[]),
    ("messages", ids::MESSAGE, &["by-nonce"]),
    ("dms", ids::DM, &[]),
    ("uploads", ids::UPLOAD, &["by-nonce"]),
    ("bot-tokens", ids::BOT_TOKEN, &[]),
    ("bots", ids::USER, &["self"]),
];

pub async fn refuse_hostile_input(request: Request, next: Next) -> Response {
    if let Err(error) = check_path(request.uri().path()) {
        return error.into_response();
    }
    if let Err(error) = check_query(request.uri().query()) {
        return error.into_response();
    }
    let (parts, body) = request.into_parts();
    let is_multipart = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/"));
    if is_multipart {
        // Uploads stream to their handler; what it leaves unread is
        // drained by `crate::unread_body`.
        return next.run(Request::from_parts(parts, body)).await;
    }
    let bytes = match to_bytes(body, crate::JSON_BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is larger than 1 MiB",
            )
            .into_response();
        }
    };
    if !bytes.is_empty()
        && let Ok(json) = serde_json::from_slice::<Value>(&bytes)
        && let Err(error) = check_json(&json, None)
    {
        return error.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

fn check_path(path: &str) -> Result<(), ApiError> {
    let segments: Vec<String> = path
        .split('/')
        .map(|segment| percent_decode(segment).unwrap_or_else(|| "\u{0}".into()))
        .collect();
    for segment in &segments {
        if has_control(segment) {
            return Err(ApiError::bad_request(
                "the path contains a control character or invalid encoding",
            ));
        }
        if segment.len() > MAX_SEGMENT {
            return Err(ApiError::bad_request(format!(
                "a path segment is longer than {MAX_SEGMENT} bytes"
            )));
        }
    }
    // segments[0] is the empty text before the leading slash.
    if segments.get(1).map(String::as_str) != Some("api") {
        return Ok(());
    }
    let (Some(area), Some(id)) = (segments.get(2), segments.get(3)) else {
        return Ok(());
    };
    if area == "workspaces" {
        return if is_workspace_key(id) {
            Ok(())
        } else {
            Err(ApiError::bad_request("invalid workspace id or slug"))
        };
    }
    for (name, prefix, words) in AREAS {
        if area == name && !words.contains(&id.as_str()) && !ids::has_prefix(id, prefix) {
            return Err(ApiError::bad_request(format!(
                "invalid id: expected {prefix} followed by 1-64 of A-Z a-z 0-9 _ -"
            )));
        }
    }
    Ok(())
}

/// A workspace is named by its id or its slug.
fn is_workspace_key(key: &str) -> bool {
    ids::has_prefix(key, ids::WORKSPACE)
        || ((1..=64).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

fn check_query(query: Option<&str>) -> Result<(), ApiError> {
    let Some(query) = query else { return Ok(()) };
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if has_control(&name) || has_control(&value) {
            return Err(ApiError::bad_request(
                "the query contains a control character",
            ));
        }
        if value.len() > MAX_QUERY_VALUE {
            return Err(ApiError::bad_request(format!(
                "query parameter {} is longer than {MAX_QUERY_VALUE} bytes",
                truncated(&name)
            )));
        }
    }
    Ok(())
}

/// Walks a JSON body: no NUL anywhere, and the body's own id fields (its
/// top-level `*_id` / `*_ids`, not those inside free-form payloads) look
/// like ids.
fn check_json(value: &Value, key: Option<&str>) -> Result<(), ApiError> {
    check_json_at(value, key, true)
}

/// `own`: the value belongs to the body itself (the top-level object, one
/// of its fields, or an item of a field's array), not to a nested object.
fn check_json_at(value: &Value, key: Option<&str>, own: bool) -> Result<(), ApiError> {
    let is_id_field = own && key.is_some_and(|key| key.ends_with("_id") || key.ends_with("_ids"));
    match value {
        Value::String(text) => {
            if text.contains('\u{0}') {
                return Err(ApiError::bad_request(
                    "JSON strings must not contain NUL characters",
                ));
            }
            if is_id_field && !looks_like_reference(text) {
                return Err(ApiError::bad_request(format!(
                    "{} must be an id (1-{MAX_ID_FIELD} of A-Z a-z 0-9 _ - . @)",
                    truncated(key.unwrap_or_default())
                )));
            }
        }
        Value::Array(items) => {
            for item in items {
                check_json_at(item, key, own)?;
            }
        }
        Value::Object(fields) => {
            // Only the top-level object's fields are the body's own.
            let own_fields = own && key.is_none();
            for (name, item) in fields {
                if name.contains('\u{0}') {
                    return Err(ApiError::bad_request(
                        "JSON keys must not contain NUL characters",
                    ));
                }
                check_json_at(item, Some(name), own_fields)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// An id, a slug or a handle (`@name`): what `*_id` fields may carry.
fn looks_like_reference(text: &str) -> bool {
    text.is_empty()
        || ((1..=MAX_ID_FIELD).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@')))
}

/// A caller's name for something, short enough to quote in an error.
fn truncated(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Percent-decodes a path segment; `None` when the result is not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            decoded.push(high * 16 + low);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_control_characters_long_segments_or_bad_ids_are_refused() {
        assert!(check_path("/api/messages/msg_01abc").is_ok());
        assert!(check_path("/api/messages/by-nonce").is_ok());
        assert!(check_path("/api/workspaces/default/channels").is_ok());
        assert!(check_path("/api/messages/%F0%9F%91%8D").is_err());
        assert!(check_path("/api/messages/msg_01abc/reactions/%F0%9F%91%8D").is_ok());
        assert!(check_path("/api/messages/%00").is_err());
        assert!(check_path("/api/messages/msg_a%00b").is_err());
        assert!(check_path(&format!("/api/messages/msg_{}", "a".repeat(65))).is_err());
        assert!(check_path(&format!("/api/x/{}", "a".repeat(200))).is_err());
        assert!(check_path("/api/channels/msg_01abc").is_err());
        assert!(check_path("/api/workspaces/has%20space").is_err());
        assert!(check_path("/healthz").is_ok());
    }

    #[test]
    fn json_bodies_with_nul_or_odd_ids_are_refused() {
        let ok = serde_json::json!({"body": "hi", "quoted_message_id": "msg_1", "member_ids": ["usr_1", "@ada"]});
        assert!(check_json(&ok, None).is_ok());
        assert!(check_json(&serde_json::json!({"body": "a\u{0}b"}), None).is_err());
        assert!(check_json(&serde_json::json!({"x": ["a\u{0}"]}), None).is_err());
        assert!(check_json(&serde_json::json!({"quoted_message_id": "msg_ 1"}), None).is_err());
        let long = "a".repeat(100);
        assert!(check_json(&serde_json::json!({"member_ids": [long]}), None).is_err());
        // Free-form payloads keep their own conventions.
        let payload = serde_json::json!({"payload": {"tool_call_id": "call:1 2"}});
        assert!(check_json(&payload, None).is_ok());
    }

    #[test]
    fn queries_with_control_characters_or_huge_values_are_refused() {
        assert!(check_query(Some("workspace_id=wsp_1&q=hello%20there")).is_ok());
        assert!(check_query(Some("q=a%00b")).is_err());
        assert!(check_query(Some(&format!("q={}", "a".repeat(5000)))).is_err());
    }
}
