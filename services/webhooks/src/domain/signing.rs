//! Signing secrets and delivery signatures.
//!
//! Every delivery carries the Standard Webhooks headers:
//! `webhook-id` (the event id, the same on every retry), `webhook-timestamp`
//! (Unix seconds) and `webhook-signature`: `v1,` + base64 of
//! HMAC-SHA256(secret key, "{id}.{timestamp}.{body}"), where the key is
//! the base64 text after `whsec_`. During a secret rotation it carries one
//! signature per live secret, separated by spaces, so a receiver holding
//! either verifies.
//!
//! It also carries what upstream ClickClack receivers check:
//! `X-ClickClack-Timestamp`, `X-ClickClack-Event-ID` and
//! `X-ClickClack-Signature: sha256=` + hex of HMAC-SHA256 keyed with the
//! whole secret text, over "{timestamp}.{body}" (the newest secret only).

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Prefix of signing secrets, as Standard Webhooks spells it.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes behind a new secret.
const SECRET_BYTES: usize = 32;
/// The shortest key accepted when a secret is read back (the Standard
/// Webhooks reference secret has 24).
const MIN_KEY_BYTES: usize = 24;

/// A signing secret, `whsec_` + base64 of its key. Deliberately neither
/// `Debug` nor `Display`: it is shown once, when made, and otherwise only
/// used to sign.
#[derive(Clone)]
pub struct SigningSecret {
    text: String,
    key: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("a signing secret starts with whsec_ and holds base64 of at least 24 bytes")]
    Malformed,
}

impl SigningSecret {
    /// A new secret: 32 bytes from the OS CSPRNG.
    pub fn generate() -> SigningSecret {
        let mut key = [0u8; SECRET_BYTES];
        rand::fill(&mut key);
        SigningSecret {
            text: format!("{SECRET_PREFIX}{}", STANDARD.encode(key)),
            key: key.to_vec(),
        }
    }

    /// Reads a secret back from its text (as sealed at rest, or a receiver
    /// holds it).
    pub fn parse(text: &str) -> Result<SigningSecret, SecretError> {
        let encoded = text
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::Malformed)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::Malformed)?;
        if key.len() < MIN_KEY_BYTES {
            return Err(SecretError::Malformed);
        }
        Ok(SigningSecret {
            text: text.to_owned(),
            key,
        })
    }

    /// The secret's text, for the one answer that shows it and for sealing.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// The Standard Webhooks signature of one delivery: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.key);
        let mut context = hmac::Context::with_key(&key);
        context.update(id.as_bytes());
        context.update(b".");
        context.update(timestamp.to_string().as_bytes());
        context.update(b".");
        context.update(body);
        format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
    }

    /// Upstream ClickClack's signature: `sha256=<hex>` keyed with the
    /// secret's whole text, over "{timestamp}.{body}".
    pub fn sign_upstream(&self, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.text.as_bytes());
        let mut context = hmac::Context::with_key(&key);
        context.update(timestamp.to_string().as_bytes());
        context.update(b".");
        context.update(body);
        let hex: String = context
            .sign()
            .as_ref()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("sha256={hex}")
    }
}

/// The headers of one delivery, signed with every live secret (newest
/// first).
pub fn delivery_headers(
    secrets: &[SigningSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let signatures: Vec<String> = secrets
        .iter()
        .map(|secret| secret.sign(id, timestamp, body))
        .collect();
    let mut headers = vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signatures.join(" ")),
        ("x-clickclack-event-id", id.to_owned()),
        ("x-clickclack-timestamp", timestamp.to_string()),
    ];
    if let Some(newest) = secrets.first() {
        headers.push((
            "x-clickclack-signature",
            newest.sign_upstream(timestamp, body),
        ));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks specification.
    #[test]
    fn signs_the_standard_webhooks_reference_vector() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn new_secrets_hold_32_random_bytes_and_read_back() {
        let a = SigningSecret::generate();
        let b = SigningSecret::generate();
        assert!(a.expose().starts_with("whsec_"));
        assert_ne!(a.expose(), b.expose());
        let back = SigningSecret::parse(a.expose()).unwrap();
        assert_eq!(back.key.len(), 32);
        assert_eq!(back.sign("evt_1", 1, b"{}"), a.sign("evt_1", 1, b"{}"));
        for bad in ["", "whsec_", "whsec_!!!!", "ccs_abc", "whsec_c2hvcnQ="] {
            assert_eq!(
                SigningSecret::parse(bad).err(),
                Some(SecretError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn upstream_signature_is_hex_hmac_of_timestamp_and_body_keyed_by_the_text() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signed = secret.sign_upstream(1614265330, b"{}");
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
        let expected = hmac::sign(&key, b"1614265330.{}");
        let hex: String = expected
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(signed, format!("sha256={hex}"));
        assert_eq!(signed.len(), "sha256=".len() + 64);
    }

    #[test]
    fn during_a_rotation_every_live_secret_signs() {
        let (new, old) = (SigningSecret::generate(), SigningSecret::generate());
        let headers = delivery_headers(&[new.clone(), old.clone()], "evt_1", 7, b"{}");
        let get = |name: &str| {
            headers
                .iter()
                .find(|(header, _)| *header == name)
                .map(|(_, value)| value.clone())
                .unwrap()
        };
        assert_eq!(get("webhook-id"), "evt_1");
        assert_eq!(get("webhook-timestamp"), "7");
        let signatures: Vec<String> = get("webhook-signature")
            .split(' ')
            .map(str::to_owned)
            .collect();
        assert_eq!(
            signatures,
            vec![new.sign("evt_1", 7, b"{}"), old.sign("evt_1", 7, b"{}")]
        );
        assert_eq!(get("x-clickclack-signature"), new.sign_upstream(7, b"{}"));
    }
}
