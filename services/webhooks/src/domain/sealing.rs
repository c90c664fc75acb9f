//! How signing secrets are kept at rest.
//!
//! A secret must sign every future delivery, so a one-way hash (as bot
//! tokens are kept) cannot be used. It is sealed instead: AES-256-GCM
//! under a key derived (HKDF-SHA256) from the deployment's internal key, a
//! fresh random nonce per secret, and the subscription's id as associated
//! data, so a sealed secret copied onto another subscription's row does
//! not open. A database dump alone reveals no secret.

use super::signing::SigningSecret;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf;
use chrono::{DateTime, Utc};

/// What the key is derived for; a new version of the scheme changes it.
const KEY_INFO: &[u8] = b"clickclack webhook signing secrets v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("a sealed signing secret does not open with this deployment's key")]
    WrongKeyOrTampered,
}

/// Seals and opens signing secrets with one deployment key.
pub struct Sealer {
    key: LessSafeKey,
}

/// HKDF's output length for a 32-byte AES key.
struct Aes256KeyLen;

impl hkdf::KeyType for Aes256KeyLen {
    fn len(&self) -> usize {
        32
    }
}

impl Sealer {
    /// The sealing key derived from the internal key (`CLICKCLACK_INTERNAL_KEY`).
    pub fn from_internal_key(internal_key: &str) -> Sealer {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"clickclack-webhooks");
        let prk = salt.extract(internal_key.as_bytes());
        let mut key = [0u8; 32];
        prk.expand(&[KEY_INFO], Aes256KeyLen)
            .and_then(|okm| okm.fill(&mut key))
            .expect("32 bytes are within HKDF-SHA256's output");
        let key = UnboundKey::new(&AES_256_GCM, &key).expect("a 32-byte AES key");
        Sealer {
            key: LessSafeKey::new(key),
        }
    }

    /// The secrets to sign with for `owner` (a subscription or a slash
    /// command): the current one, then the one a rotation replaced while
    /// its overlap lasts. `None` when the current one does not open.
    pub fn signing_secrets(
        &self,
        owner: &str,
        current: &[u8],
        previous: Option<(&[u8], DateTime<Utc>)>,
    ) -> Option<Vec<SigningSecret>> {
        let open = |sealed: &[u8]| {
            self.open(owner, sealed)
                .ok()
                .and_then(|text| SigningSecret::parse(&text).ok())
        };
        let mut secrets = vec![open(current)?];
        if let Some((previous, until)) = previous
            && until > Utc::now()
            && let Some(previous) = open(previous)
        {
            secrets.push(previous);
        }
        Some(secrets)
    }

    /// `secret` sealed for the subscription `owner`: nonce, then
    /// ciphertext and tag.
    pub fn seal(&self, owner: &str, secret: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let mut sealed = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.as_bytes()),
                &mut sealed,
            )
            .expect("sealing a short secret cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// The secret `sealed` holds, when it was sealed for `owner` with this
    /// key and not changed since.
    pub fn open(&self, owner: &str, sealed: &[u8]) -> Result<String, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::WrongKeyOrTampered);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::WrongKeyOrTampered)?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(owner.as_bytes()), &mut buffer)
            .map_err(|_| SealError::WrongKeyOrTampered)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SealError::WrongKeyOrTampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "an internal key of at least thirty-two bytes";

    #[test]
    fn a_sealed_secret_opens_only_for_its_subscription_and_key() {
        let sealer = Sealer::from_internal_key(KEY);
        let sealed = sealer.seal("sub_1", "whsec_secret");
        assert!(
            !sealed.windows(6).any(|w| w == b"secret"),
            "not in the clear"
        );
        assert_eq!(sealer.open("sub_1", &sealed).unwrap(), "whsec_secret");
        assert_eq!(
            sealer.open("sub_2", &sealed),
            Err(SealError::WrongKeyOrTampered),
            "moved to another subscription"
        );
        let other = Sealer::from_internal_key("another internal key, also 32 bytes long");
        assert_eq!(
            other.open("sub_1", &sealed),
            Err(SealError::WrongKeyOrTampered)
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            sealer.open("sub_1", &tampered),
            Err(SealError::WrongKeyOrTampered)
        );
        assert_eq!(
            sealer.open("sub_1", b"short"),
            Err(SealError::WrongKeyOrTampered)
        );
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let sealer = Sealer::from_internal_key(KEY);
        assert_ne!(
            sealer.seal("sub_1", "whsec_x"),
            sealer.seal("sub_1", "whsec_x")
        );
    }
}
