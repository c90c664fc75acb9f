//! Signed principal assertions between the gateway and the services.
//!
//! The gateway authenticates the caller, then attaches who they are as a
//! short-lived HS256 JWT in the `x-clickclack-principal` metadata entry.
//! Services verify it with the shared internal key and trust nothing
//! unsigned (docs/architecture.md, "A request, end to end", step 3).

use crate::ids::{UserId, WorkspaceId};
use crate::roles::{Role, UserKind};
use crate::scopes::{self, Scope};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;
use tonic::{Request, Status};

pub use clickclack_proto::PRINCIPAL_METADATA_KEY as METADATA_KEY;

/// The key the dev stack and tests use when none is configured. Deployments
/// set `CLICKCLACK_INTERNAL_KEY` to their own secret; the services refuse
/// to start with this one outside `clickclack dev`.
pub const DEV_INTERNAL_KEY: &str = "clickclack-dev-internal-key-not-for-production";
/// The operator credential of `clickclack dev`; deployments set
/// `CLICKCLACK_OPERATOR_KEY`.
pub const DEV_OPERATOR_KEY: &str = "clickclack-dev-operator-key-not-for-production";

/// How long an assertion is valid: long enough for one call chain.
const LIFETIME_SECONDS: i64 = 60;
const ISSUER: &str = "clickclack-gateway";
const AUDIENCE: &str = "clickclack-services";
/// Operator assertions have their own issuer and audience, so a token made
/// with the internal key can never pass for one, even were the keys equal.
const OPERATOR_ISSUER: &str = "clickclack-operator";
const OPERATOR_AUDIENCE: &str = "clickclack-admin";

/// Who is calling, by the kind of credential it presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// A bot or human, authenticated by the gateway, which signed who they
    /// are with the internal key.
    Principal,
    /// The gateway as itself (authentication, change stream, lookups).
    Gateway,
    /// A ClickClack service as itself (event producers).
    Service,
    /// An operator, through the admin CLI, with the operator key.
    Operator,
}

impl CallerKind {
    fn of(claims: &Claims) -> Option<CallerKind> {
        match claims.kind.as_str() {
            kind if UserKind::parse(kind).is_some() => Some(CallerKind::Principal),
            "gateway" => Some(CallerKind::Gateway),
            "service" => Some(CallerKind::Service),
            "operator" => Some(CallerKind::Operator),
            _ => None,
        }
    }
}

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

    /// The user's kind, when a bot or a human is the caller.
    pub fn user_kind(&self) -> Option<UserKind> {
        UserKind::parse(&self.kind)
    }

    pub fn is_bot(&self) -> bool {
        self.user_kind() == Some(UserKind::Bot)
    }

    /// The caller's role in its workspace, as signed.
    pub fn role(&self) -> Role {
        Role::from_stored(&self.role)
    }

    /// A bot acting without a token of it, with exactly `scopes`: an
    /// incoming webhook posting, a bot's reply to a slash command.
    pub fn bot(user_id: &str, workspace_id: &str, scopes: &BTreeSet<Scope>) -> Claims {
        Claims::new(user_id, "bot", workspace_id, "bot", scopes)
    }

    /// The gateway acting as itself.
    pub fn gateway() -> Claims {
        Claims::new("gateway", "gateway", "", "", &BTreeSet::new())
    }

    /// A service (`svc:messaging`, ...) acting as itself, for `workspace`
    /// when the call concerns one (`""` otherwise).
    pub fn service(name: &str, workspace: &str) -> Claims {
        Claims::new(name, "service", workspace, "service", &BTreeSet::new())
    }

    /// An operator; `acting_as` optionally names the user and workspace an
    /// admin command acts for (creating `#general` as the owner, say).
    pub fn operator(acting_as: Option<(&str, &str)>) -> Claims {
        let (user, workspace) = acting_as.unwrap_or(("operator", ""));
        let scopes: BTreeSet<Scope> = [Scope::ChannelsRead, Scope::ChannelsWrite].into();
        let mut claims = Claims::new(user, "operator", workspace, Role::Owner.as_str(), &scopes);
        claims.iss = OPERATOR_ISSUER.into();
        claims.aud = OPERATOR_AUDIENCE.into();
        claims
    }

    /// An operator acting for the deployment (for [`crate::grpc::traced_as`]).
    pub fn deployment_operator() -> Claims {
        Claims::operator(None)
    }

    pub fn caller_kind(&self) -> Option<CallerKind> {
        CallerKind::of(self)
    }

    /// The human a call acts for, when a signed-in human made it.
    pub fn human(&self) -> Option<&str> {
        (self.user_kind() == Some(UserKind::Human)).then_some(self.sub.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    #[error(
        "a signing key (CLICKCLACK_INTERNAL_KEY, CLICKCLACK_OPERATOR_KEY) must be at least 32 bytes"
    )]
    WeakKey,
    #[error("invalid principal assertion: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
}

/// Signs and verifies assertions with the shared internal key.
///
/// Cheap to clone (one reference count): every gRPC peer holds a copy and
/// peers are cloned per request; copying the keys and the validation's
/// sets each time was most of the gateway's allocations under load.
#[derive(Clone)]
pub struct AssertionKey(Arc<KeyMaterial>);

struct KeyMaterial {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl AssertionKey {
    /// The internal key, shared by the gateway and the services.
    pub fn from_secret(secret: &str) -> Result<AssertionKey, AssertionError> {
        Self::with_audience(secret, ISSUER, AUDIENCE)
    }

    /// The operator key, held by operators and checked by the services
    /// that serve admin RPCs.
    pub fn operator(secret: &str) -> Result<AssertionKey, AssertionError> {
        Self::with_audience(secret, OPERATOR_ISSUER, OPERATOR_AUDIENCE)
    }

    fn with_audience(
        secret: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<AssertionKey, AssertionError> {
        if secret.len() < 32 {
            return Err(AssertionError::WeakKey);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.leeway = 5;
        Ok(AssertionKey(Arc::new(KeyMaterial {
            encoding: EncodingKey::from_secret(secret.as_bytes())?,
            decoding: DecodingKey::from_secret(secret.as_bytes())?,
            validation,
        })))
    }

    pub fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.0.encoding)
            .expect("HS256 signing cannot fail")
    }

    pub fn verify(&self, assertion: &str) -> Result<Claims, AssertionError> {
        Ok(jsonwebtoken::decode::<Claims>(assertion, &self.0.decoding, &self.0.validation)?.claims)
    }

    /// Wraps `message` in a request carrying the signed `claims`.
    pub fn request<T>(&self, claims: &Claims, message: T) -> Request<T> {
        let mut request = Request::new(message);
        let value = self.sign(claims).parse().expect("a JWT is valid metadata");
        request.metadata_mut().insert(METADATA_KEY, value);
        request
    }
}

/// The verified caller of a request that passed the service's
/// [`crate::caller_policy::CallerPolicy`].
pub fn caller<T>(request: &Request<T>) -> Result<Claims, Status> {
    request
        .extensions()
        .get::<Claims>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("missing principal assertion"))
}

/// A user (human or bot) acting in a workspace, as a verified assertion
/// names them: the caller of every chat read and write, its ids parsed
/// once when the call arrives so the rules and queries take typed ids.
#[derive(Debug, Clone)]
pub struct ActingUser {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    claims: Claims,
}

impl ActingUser {
    /// `None` when the assertion names no user acting in a workspace (the
    /// gateway, a service, or an operator acting for the deployment).
    pub fn from_claims(claims: Claims) -> Option<ActingUser> {
        Some(ActingUser {
            user_id: UserId::parse(&claims.sub)?,
            workspace_id: WorkspaceId::parse(&claims.wsp)?,
            claims,
        })
    }

    pub fn has_scope(&self, scope: Scope) -> bool {
        self.claims.has_scope(scope)
    }

    pub fn is_bot(&self) -> bool {
        self.claims.is_bot()
    }

    /// The caller's role in the workspace, as signed.
    pub fn role(&self) -> Role {
        self.claims.role()
    }
}

/// The user a request acts for; refused when it acts for none.
pub fn acting_user<T>(request: &Request<T>) -> Result<ActingUser, Status> {
    ActingUser::from_claims(caller(request)?)
        .ok_or_else(|| Status::permission_denied("this call must act for a user in a workspace"))
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
    fn operator_assertions_and_internal_ones_never_pass_for_each_other() {
        let internal = AssertionKey::from_secret(DEV_INTERNAL_KEY).unwrap();
        // Even with the same secret, issuer and audience keep them apart.
        let operator = AssertionKey::operator(DEV_INTERNAL_KEY).unwrap();
        let as_operator = operator.sign(&Claims::operator(None));
        assert!(internal.verify(&as_operator).is_err());
        assert_eq!(
            operator.verify(&as_operator).unwrap().caller_kind(),
            Some(CallerKind::Operator)
        );
        assert!(operator.verify(&internal.sign(&Claims::gateway())).is_err());
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(matches!(
            AssertionKey::from_secret("short"),
            Err(AssertionError::WeakKey)
        ));
    }

    #[test]
    fn an_acting_user_is_a_user_in_a_workspace() {
        let claims = Claims::new("usr_a1", "human", "wsp_w1", "member", &BTreeSet::new());
        let acting = ActingUser::from_claims(claims).unwrap();
        assert_eq!(acting.user_id, "usr_a1");
        assert_eq!(acting.workspace_id, "wsp_w1");
        // The gateway, a service and an operator acting for the deployment
        // act for no user in no workspace.
        assert!(ActingUser::from_claims(Claims::gateway()).is_none());
        assert!(ActingUser::from_claims(Claims::service("svc:messaging", "wsp_w1")).is_none());
        assert!(ActingUser::from_claims(Claims::operator(None)).is_none());
        assert!(ActingUser::from_claims(Claims::operator(Some(("usr_a1", "wsp_w1")))).is_some());
    }
}
