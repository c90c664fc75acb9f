//! Signed principal assertions between the gateway and the services.
//!
//! The gateway authenticates the caller, then attaches who they are as a
//! short-lived HS256 JWT in the `x-clickclack-principal` metadata entry.
//! Services verify it with the shared internal key and trust nothing
//! unsigned (DESIGN.md §2 step 3).

use crate::scopes::{self, Scope};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tonic::{Request, Status};

pub use clickclack_proto::PRINCIPAL_METADATA_KEY as METADATA_KEY;

/// The key the dev stack and tests use when none is configured. Deployments
/// set `CLICKCLACK_INTERNAL_KEY` to their own secret.
pub const DEV_INTERNAL_KEY: &str = "clickclack-dev-internal-key-not-for-production";

/// How long an assertion is valid: long enough for one call chain.
const LIFETIME_SECONDS: i64 = 60;
const ISSUER: &str = "clickclack-gateway";
const AUDIENCE: &str = "clickclack-services";

/// Who a call acts as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The acting user (a bot or a human).
    pub sub: String,
    /// "bot" or "human".
    pub kind: String,
    /// The workspace the call is bound to.
    pub wsp: String,
    /// The caller's role there ("bot" for bots).
    pub role: String,
    /// Concrete scopes.
    pub scopes: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

impl Claims {
    pub fn new(
        user_id: &str,
        kind: &str,
        workspace_id: &str,
        role: &str,
        scopes: &BTreeSet<Scope>,
    ) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: user_id.into(),
            kind: kind.into(),
            wsp: workspace_id.into(),
            role: role.into(),
            scopes: scopes::names(scopes),
            iat: now,
            exp: now + LIFETIME_SECONDS,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        }
    }

    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.iter().any(|name| name == scope.as_str())
    }

    pub fn is_bot(&self) -> bool {
        self.kind == "bot"
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    #[error("the internal key must be at least 32 bytes")]
    WeakKey,
    #[error("invalid principal assertion: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
}

/// Signs and verifies assertions with the shared internal key.
#[derive(Clone)]
pub struct AssertionKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl AssertionKey {
    pub fn from_secret(secret: &str) -> Result<AssertionKey, AssertionError> {
        if secret.len() < 32 {
            return Err(AssertionError::WeakKey);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 5;
        Ok(AssertionKey {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        })
    }

    pub fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    pub fn verify(&self, assertion: &str) -> Result<Claims, AssertionError> {
        Ok(jsonwebtoken::decode::<Claims>(assertion, &self.decoding, &self.validation)?.claims)
    }

    /// Wraps `message` in a request carrying the signed `claims`.
    pub fn request<T>(&self, claims: &Claims, message: T) -> Request<T> {
        let mut request = Request::new(message);
        let value = self.sign(claims).parse().expect("a JWT is valid metadata");
        request.metadata_mut().insert(METADATA_KEY, value);
        request
    }

    /// A tonic interceptor that verifies the assertion and stores the claims
    /// in the request's extensions; calls without a valid one are refused.
    pub fn interceptor(
        &self,
    ) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + use<> {
        let key = self.clone();
        move |mut request: Request<()>| {
            let assertion = request
                .metadata()
                .get(METADATA_KEY)
                .and_then(|value| value.to_str().ok())
                .ok_or_else(|| Status::unauthenticated("missing principal assertion"))?;
            let claims = key
                .verify(assertion)
                .map_err(|e| Status::unauthenticated(e.to_string()))?;
            request.extensions_mut().insert(claims);
            Ok(request)
        }
    }
}

/// The verified caller of a request that passed [`AssertionKey::interceptor`].
pub fn caller<T>(request: &Request<T>) -> Result<Claims, Status> {
    request
        .extensions()
        .get::<Claims>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("missing principal assertion"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims::new(
            "usr_1",
            "bot",
            "wsp_1",
            "bot",
            &scopes::expand(&["bot:read"]).unwrap(),
        )
    }

    #[test]
    fn signed_claims_verify_with_the_same_key_only() {
        let key = AssertionKey::from_secret(DEV_INTERNAL_KEY).unwrap();
        let token = key.sign(&claims());
        assert_eq!(key.verify(&token).unwrap(), claims());
        let other =
            AssertionKey::from_secret("another-key-that-is-long-enough-0123456789").unwrap();
        assert!(other.verify(&token).is_err());
        assert!(key.verify("not-a-jwt").is_err());
    }

    #[test]
    fn expired_assertions_are_refused() {
        let key = AssertionKey::from_secret(DEV_INTERNAL_KEY).unwrap();
        let mut old = claims();
        old.iat -= 600;
        old.exp -= 600;
        assert!(key.verify(&key.sign(&old)).is_err());
    }

    #[test]
    fn interceptor_requires_a_valid_assertion() {
        let key = AssertionKey::from_secret(DEV_INTERNAL_KEY).unwrap();
        let mut check = key.interceptor();
        assert_eq!(
            check(Request::new(())).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        let passed = check(key.request(&claims(), ())).unwrap();
        assert_eq!(caller(&passed).unwrap().sub, "usr_1");
        assert!(caller(&passed).unwrap().has_scope(Scope::MessagesRead));
        assert!(!caller(&passed).unwrap().has_scope(Scope::MessagesWrite));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(matches!(
            AssertionKey::from_secret("short"),
            Err(AssertionError::WeakKey)
        ));
    }
}
