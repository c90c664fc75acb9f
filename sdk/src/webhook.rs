//! Checking a webhook delivery (an event subscription's POST) before
//! trusting it, per the Standard Webhooks specification ClickClack signs
//! with:
//!
//! - `webhook-id`: the event id, the same on every retry (deduplicate on
//!   it);
//! - `webhook-timestamp`: Unix seconds when this attempt was signed;
//! - `webhook-signature`: one or more `v1,<base64>` separated by spaces
//!   (two while a secret rotation overlaps), each HMAC-SHA256 of
//!   `"{id}.{timestamp}.{body}"` keyed with the base64-decoded part of the
//!   `whsec_...` secret.
//!
//! ```
//! use clickclack_sdk::webhook::{verify_webhook, DEFAULT_TOLERANCE};
//!
//! # fn handle(headers: &[(&str, &str)], body: &[u8]) -> Result<(), clickclack_sdk::webhook::WebhookError> {
//! let delivery = verify_webhook(&["whsec_..."], headers, body, DEFAULT_TOLERANCE)?;
//! println!("event {} of type {}", delivery.id, delivery.event["type"]);
//! # Ok(()) }
//! ```

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far a delivery's timestamp may be from now (either way): the
/// Standard Webhooks recommendation, against replays.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// A delivery whose signature checked out.
#[derive(Debug, Clone)]
pub struct VerifiedDelivery {
    /// `webhook-id`: the event id, stable across retries.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: i64,
    /// The subscription it was sent for.
    pub subscription_id: String,
    /// The event exactly as a WebSocket frame carries it (`id`, `cursor`,
    /// `type`, `workspace_id`, `payload`, ...).
    pub event: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("the delivery was signed too long ago (or in the future)")]
    OutsideTolerance,
    #[error("no secret given is a whsec_ secret")]
    BadSecret,
    #[error("no signature matches a secret given")]
    NoMatch,
    #[error("the body is not a ClickClack delivery: {0}")]
    BadBody(String),
}

/// Checks `body` against `headers` with any of `secrets` (give the old and
/// the new one while rotating) and answers the delivery. Header names are
/// matched without regard to case.
pub fn verify_webhook(
    secrets: &[&str],
    headers: &[(&str, &str)],
    body: &[u8],
    tolerance: Duration,
) -> Result<VerifiedDelivery, WebhookError> {
    verify_webhook_at(secrets, headers, body, tolerance, SystemTime::now())
}

/// [`verify_webhook`] as if it were `now`.
pub fn verify_webhook_at(
    secrets: &[&str],
    headers: &[(&str, &str)],
    body: &[u8],
    tolerance: Duration,
    now: SystemTime,
) -> Result<VerifiedDelivery, WebhookError> {
    let (id, timestamp) = verify_signature(secrets, headers, body, tolerance, now)?;
    let mut parsed: serde_json::Value =
        serde_json::from_slice(body).map_err(|error| WebhookError::BadBody(error.to_string()))?;
    let subscription_id = parsed["subscription_id"]
        .as_str()
        .ok_or_else(|| WebhookError::BadBody("no subscription_id".into()))?
        .to_owned();
    let event = parsed
        .get_mut("event")
        .map(serde_json::Value::take)
        .filter(serde_json::Value::is_object)
        .ok_or_else(|| WebhookError::BadBody("no event".into()))?;
    Ok(VerifiedDelivery {
        id,
        timestamp,
        subscription_id,
        event,
    })
}

/// A slash-command invocation POSTed to a bot's request URL, checked
/// like a delivery (the same headers, the command's signing secret):
/// `webhook-id` is the invocation id, the body its payload (`command`,
/// `text`, `user_id`, `response_token`, ...).
pub fn verify_command(
    secrets: &[&str],
    headers: &[(&str, &str)],
    body: &[u8],
    tolerance: Duration,
) -> Result<serde_json::Value, WebhookError> {
    verify_interaction(secrets, headers, body, tolerance, |payload| {
        payload["command"]
            .is_string()
            .then_some(())
            .ok_or("not a slash-command invocation")
    })
}

/// A button press POSTed to a bot's interactivity URL, checked like a
/// command: the body is the `action.invoked` payload (`message_id`,
/// `action {id, label, style, value}`, `user_id`, `response_token`, ...).
pub fn verify_action(
    secrets: &[&str],
    headers: &[(&str, &str)],
    body: &[u8],
    tolerance: Duration,
) -> Result<serde_json::Value, WebhookError> {
    verify_interaction(secrets, headers, body, tolerance, |payload| {
        (payload["type"] == "action.invoked")
            .then_some(())
            .ok_or("not a button press")
    })
}

/// A signed invocation with a response token, of the kind `is_kind` says.
fn verify_interaction(
    secrets: &[&str],
    headers: &[(&str, &str)],
    body: &[u8],
    tolerance: Duration,
    is_kind: fn(&serde_json::Value) -> Result<(), &'static str>,
) -> Result<serde_json::Value, WebhookError> {
    verify_signature(secrets, headers, body, tolerance, SystemTime::now())?;
    let payload: serde_json::Value =
        serde_json::from_slice(body).map_err(|error| WebhookError::BadBody(error.to_string()))?;
    is_kind(&payload).map_err(|why| WebhookError::BadBody(why.into()))?;
    if payload["response_token"].is_string() {
        Ok(payload)
    } else {
        Err(WebhookError::BadBody("no response_token".into()))
    }
}

/// Checks the Standard Webhooks headers of a signed request; answers its
/// `webhook-id` and `webhook-timestamp`.
fn verify_signature(
    secrets: &[&str],
    headers: &[(&str, &str)],
    body: &[u8],
    tolerance: Duration,
    now: SystemTime,
) -> Result<(String, i64), WebhookError> {
    let header = |name: &'static str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
            .ok_or(WebhookError::MissingHeader(name))
    };
    let id = header("webhook-id")?;
    let timestamp: i64 = header("webhook-timestamp")?
        .parse()
        .map_err(|_| WebhookError::BadTimestamp)?;
    let signatures = header("webhook-signature")?;
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs() as i64)
        .unwrap_or_default();
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return Err(WebhookError::OutsideTolerance);
    }
    let keys: Vec<Vec<u8>> = secrets
        .iter()
        .filter_map(|secret| STANDARD.decode(secret.trim().strip_prefix("whsec_")?).ok())
        .filter(|key| !key.is_empty())
        .collect();
    if keys.is_empty() {
        return Err(WebhookError::BadSecret);
    }
    let mut signed = Vec::with_capacity(id.len() + body.len() + 24);
    signed.extend_from_slice(id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(timestamp.to_string().as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let matched = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|signature| {
            keys.iter().any(|key| {
                let key = hmac::Key::new(hmac::HMAC_SHA256, key);
                // Constant time.
                hmac::verify(&key, &signed, &signature).is_ok()
            })
        });
    if !matched {
        return Err(WebhookError::NoMatch);
    }
    Ok((id.to_owned(), timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks specification's published example.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1614265330;
    const BODY: &str = r#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn at(seconds: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds as u64)
    }

    fn headers(signature: &str) -> Vec<(&'static str, String)> {
        vec![
            ("Webhook-Id", ID.into()),
            ("webhook-timestamp", TIMESTAMP.to_string()),
            ("webhook-signature", signature.into()),
        ]
    }

    fn check(secrets: &[&str], signature: &str, now: i64) -> Result<(), WebhookError> {
        let owned = headers(signature);
        let borrowed: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
        match verify_webhook_at(
            secrets,
            &borrowed,
            BODY.as_bytes(),
            DEFAULT_TOLERANCE,
            at(now),
        ) {
            // The example body is not a ClickClack delivery: a good
            // signature gets as far as reading it.
            Err(WebhookError::BadBody(_)) | Ok(_) => Ok(()),
            Err(other) => Err(other),
        }
    }

    #[test]
    fn the_specifications_example_verifies() {
        assert_eq!(check(&[SECRET], SIGNATURE, TIMESTAMP), Ok(()));
        // Among others, and with an old secret beside the right one.
        let several = format!("v1,bm9wZQ== {SIGNATURE}");
        assert_eq!(
            check(&["whsec_b2xk", SECRET], &several, TIMESTAMP + 299),
            Ok(())
        );
    }

    #[test]
    fn a_wrong_secret_body_or_time_is_refused() {
        assert_eq!(
            check(&["whsec_b3RoZXI="], SIGNATURE, TIMESTAMP),
            Err(WebhookError::NoMatch)
        );
        assert_eq!(
            check(&[SECRET], "v1,AAAA", TIMESTAMP),
            Err(WebhookError::NoMatch)
        );
        assert_eq!(
            check(&[SECRET], SIGNATURE, TIMESTAMP + 301),
            Err(WebhookError::OutsideTolerance)
        );
        assert_eq!(
            check(&[SECRET], SIGNATURE, TIMESTAMP - 301),
            Err(WebhookError::OutsideTolerance)
        );
        assert_eq!(
            check(&["not-a-secret"], SIGNATURE, TIMESTAMP),
            Err(WebhookError::BadSecret)
        );
        let owned = headers(SIGNATURE);
        let tampered: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            verify_webhook_at(
                &[SECRET],
                &tampered,
                b"{\"test\": 1}",
                DEFAULT_TOLERANCE,
                at(TIMESTAMP)
            )
            .unwrap_err(),
            WebhookError::NoMatch
        );
        assert_eq!(
            verify_webhook_at(
                &[SECRET],
                &tampered[..2],
                BODY.as_bytes(),
                DEFAULT_TOLERANCE,
                at(TIMESTAMP)
            )
            .unwrap_err(),
            WebhookError::MissingHeader("webhook-signature")
        );
    }
}
