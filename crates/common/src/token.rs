//! Raw bearer secrets and their hashes.
//!
//! A [`RawToken`] is shown to a person exactly once and otherwise only ever
//! hashed: it has no `Debug` or `Display`, so it cannot end up in a log line
//! or an error message by accident. Only the SHA-256 [`TokenHash`] is stored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// SHA-256 of `parts` written one after another (from aws-lc-rs, the
/// crypto provider TLS and the assertion signer already link).
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// Prefix of bot tokens.
pub const BOT_TOKEN_PREFIX: &str = "ccb_";
/// Prefix of human session tokens.
pub const SESSION_TOKEN_PREFIX: &str = "sst_";
/// Prefix of one-time magic-link tokens.
pub const MAGIC_LINK_PREFIX: &str = "mgt_";

/// Random bytes behind every secret: 256 bits, well above the 128 required.
const SECRET_BYTES: usize = 32;
const SETUP_CODE_LEN: usize = 12;
/// Crockford's base32: no I, L, O or U, so a code read aloud or copied by
/// hand survives, and the OpenClaw extension (which refuses any other
/// character before it calls the server) accepts every code minted.
pub const SETUP_CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A setup code as a person types it (any case, dashes and spaces anywhere,
/// Crockford's look-alikes I and L for 1, O for 0) in its stored form;
/// `None` when it cannot be a setup code.
pub fn normalize_setup_code(typed: &str) -> Option<RawToken> {
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            upper => upper,
        })
        .collect();
    let valid =
        code.len() == SETUP_CODE_LEN && code.bytes().all(|b| SETUP_CODE_ALPHABET.contains(&b));
    valid.then_some(RawToken(code))
}

/// `ABCDEFGHJKLM` → `ABCD-EFGH-JKLM`.
pub fn display_setup_code(code: &RawToken) -> String {
    let chars: Vec<char> = code.expose().chars().collect();
    chars
        .chunks(4)
        .map(|chunk| chunk.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A raw secret such as `ccb_...`. Deliberately not `Debug`/`Display`.
pub struct RawToken(String);

impl RawToken {
    /// A new secret: `prefix` + 43 URL-safe characters from the OS CSPRNG.
    pub fn generate(prefix: &str) -> RawToken {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::fill(&mut bytes);
        RawToken(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A bot setup code: 12 characters of Crockford base32 (60 bits) from
    /// the OS CSPRNG, normalised (no dashes). Show it with
    /// [`display_setup_code`]; it is short-lived and claims are rate-limited,
    /// so 60 bits leave nothing to guess.
    pub fn generate_setup_code() -> RawToken {
        let mut bytes = [0u8; SETUP_CODE_LEN];
        rand::fill(&mut bytes);
        RawToken(
            bytes
                .iter()
                .map(|b| SETUP_CODE_ALPHABET[usize::from(b & 31)] as char)
                .collect(),
        )
    }

    /// Wraps a secret a caller presented (for hashing, never for storing).
    pub fn from_presented(value: impl Into<String>) -> RawToken {
        RawToken(value.into())
    }

    /// The secret itself, for the one place that hands it to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_exposed(self) -> String {
        self.0
    }

    /// True when the secret has the shape this server issues for `prefix`.
    /// Cheap pre-check that spares the database garbage input.
    pub fn is_well_formed(&self, prefix: &str) -> bool {
        self.0.strip_prefix(prefix).is_some_and(|rest| {
            rest.len() >= 32
                && rest.len() <= 128
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(sha256(&[self.0.as_bytes()]))
    }
}

/// SHA-256 of a raw secret: what the database stores and caches key on.
#[derive(Clone, Copy, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn from_slice(bytes: &[u8]) -> Option<TokenHash> {
        bytes.try_into().ok().map(TokenHash)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Constant-time comparison, so response timing says nothing about how much
/// of a hash matched.
impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

// Agrees with `PartialEq`: equal bytes, equal hash.
impl std::hash::Hash for TokenHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_prefixed_long_and_distinct() {
        let a = RawToken::generate(BOT_TOKEN_PREFIX);
        let b = RawToken::generate(BOT_TOKEN_PREFIX);
        assert!(a.expose().starts_with("ccb_"));
        assert_eq!(a.expose().len(), 4 + 43);
        assert!(a.is_well_formed(BOT_TOKEN_PREFIX));
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn hash_is_sha256_of_the_whole_secret() {
        let token = RawToken::from_presented("ccb_example");
        // sha256sum of the 11 bytes `ccb_example`.
        let expected = "ce4e3f6e4649693aaa30ef527befb91a7ece373b346fca1c1385d38bfa1f3bea";
        let hex: String = token
            .hash()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, expected);
        assert_eq!(sha256(&[b"ccb_", b"example"]), *token.hash().as_bytes());
        assert_eq!(token.hash(), RawToken::from_presented("ccb_example").hash());
    }

    #[test]
    fn malformed_tokens_are_refused_before_any_lookup() {
        for bad in [
            "",
            "ccb_",
            "ccb_short",
            "sst_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "ccb_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/aa",
        ] {
            assert!(
                !RawToken::from_presented(bad).is_well_formed(BOT_TOKEN_PREFIX),
                "{bad}"
            );
        }
    }

    #[test]
    fn hash_debug_reveals_nothing() {
        let hash = RawToken::from_presented("ccb_secret").hash();
        assert_eq!(format!("{hash:?}"), "TokenHash(..)");
    }

    /// What the OpenClaw extension checks before it calls the server:
    /// trimmed, upper-cased, dashes and spaces gone, then exactly 12
    /// characters of its alphabet.
    fn openclaw_accepts(shown: &str) -> bool {
        let code: String = shown.trim().to_uppercase().replace(['-', ' '], "");
        code.len() == 12
            && code
                .chars()
                .all(|c| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c))
    }

    #[test]
    fn every_minted_setup_code_is_crockford_base32_in_groups_of_four() {
        let mut seen = std::collections::HashSet::new();
        let mut used = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let code = RawToken::generate_setup_code();
            let shown = display_setup_code(&code);
            assert_eq!(code.expose().len(), 12, "{shown}");
            assert!(openclaw_accepts(&shown), "OpenClaw would refuse {shown}");
            let groups: Vec<&str> = shown.split('-').collect();
            assert_eq!(groups.len(), 3, "{shown}");
            assert!(groups.iter().all(|group| group.len() == 4), "{shown}");
            assert!(
                !shown.contains(['I', 'L', 'O', 'U']),
                "no look-alikes: {shown}"
            );
            used.extend(code.expose().chars());
            seen.insert(code.into_exposed());
        }
        assert_eq!(seen.len(), 10_000, "60 random bits do not repeat");
        assert_eq!(used.len(), 32, "every symbol of the alphabet is drawn");
    }

    #[test]
    fn setup_codes_are_typed_loosely() {
        let code = RawToken::from_presented("0123ABCDXYZ1");
        let same = |typed: &str| {
            normalize_setup_code(typed).map(|back| back.hash() == code.hash()) == Some(true)
        };
        assert!(same("0123-ABCD-XYZ1"));
        assert!(same("0123abcdxyz1"), "lower case");
        assert!(same(" 0123 abcd  xyz1 "), "spaces");
        assert!(same("o123-ABCD-XYZl"), "O is 0, l is 1");
        assert!(same("O12 3-ABCD-XYZI"), "I is 1");
        assert!(same("0-1-2-3ABCDXYZ1"), "dashes anywhere");
        for bad in [
            "0123-ABCD-XYZU",
            "0123-ABCD",
            "0123-ABCD-XYZ12",
            "0123-ABCD-XY=1",
            "",
        ] {
            assert!(normalize_setup_code(bad).is_none(), "{bad:?}");
        }
    }
}
