//! Who may call which RPC: every call of every service is authenticated
//! (docs/architecture.md, "Who may call what"), and reaching a port is never enough.
//!
//! [`CallerPolicy`] wraps a service's gRPC server. For each call it reads
//! the signed assertion in the `x-clickclack-principal` metadata, verifies
//! it with the internal key (principals, the gateway, services) or the
//! operator key (the admin CLI), and checks the caller's kind against the
//! service's policy table for that method. A missing or invalid credential
//! is `UNAUTHENTICATED`; a valid one of a kind the method does not take is
//! `PERMISSION_DENIED`. The verified [`Claims`] ride in the request's
//! extensions for the handler ([`crate::assertion::caller`]).

use crate::assertion::{AssertionKey, CallerKind, METADATA_KEY};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tonic::Status;
use tonic::server::NamedService;

/// A service's table: the caller kinds each method (by its gRPC name, e.g.
/// `"CreateUser"`) accepts. A method the table does not name accepts none.
pub type Policy = fn(&str) -> &'static [CallerKind];

/// The keys a service verifies callers with.
#[derive(Clone)]
pub struct CallerKeys {
    pub internal: AssertionKey,
    /// `None` for a service that serves no admin RPCs.
    pub operator: Option<AssertionKey>,
}

#[derive(Clone)]
pub struct CallerPolicy<S> {
    inner: S,
    keys: CallerKeys,
    policy: Policy,
}

impl<S> CallerPolicy<S> {
    pub fn new(inner: S, keys: CallerKeys, policy: Policy) -> Self {
        CallerPolicy {
            inner,
            keys,
            policy,
        }
    }
}

impl<S: NamedService> NamedService for CallerPolicy<S> {
    const NAME: &'static str = S::NAME;
}

impl CallerKeys {
    /// The caller of a request, or why it is refused.
    fn check<B>(
        &self,
        request: &http::Request<B>,
        policy: Policy,
    ) -> Result<crate::assertion::Claims, Status> {
        let method = request.uri().path().rsplit('/').next().unwrap_or_default();
        let allowed = policy(method);
        let assertion = request
            .headers()
            .get(METADATA_KEY)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| Status::unauthenticated("this call needs a credential"))?;
        let claims = self
            .internal
            .verify(assertion)
            .ok()
            .filter(|claims| claims.caller_kind() != Some(CallerKind::Operator))
            .or_else(|| {
                self.operator
                    .as_ref()
                    .and_then(|key| key.verify(assertion).ok())
                    .filter(|claims| claims.caller_kind() == Some(CallerKind::Operator))
            })
            .ok_or_else(|| Status::unauthenticated("invalid or expired credential"))?;
        match claims.caller_kind() {
            Some(kind) if allowed.contains(&kind) => Ok(claims),
            _ => Err(Status::permission_denied(format!(
                "{method} is not open to this caller"
            ))),
        }
    }
}

impl<S, B> tower::Service<http::Request<B>> for CallerPolicy<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match self.keys.check(&request, self.policy) {
            Ok(claims) => {
                request.extensions_mut().insert(claims);
                Box::pin(self.inner.call(request))
            }
            Err(status) => Box::pin(async move { Ok(status.into_http()) }),
        }
    }
}

/// The credentials a service process holds, from flags or the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyArgs {
    /// Shared secret (32+ bytes) that the gateway and the services sign and
    /// verify internal calls with.
    #[arg(long, env = "CLICKCLACK_INTERNAL_KEY", default_value = crate::assertion::DEV_INTERNAL_KEY, hide_default_value = true)]
    pub internal_key: String,
    /// Secret (32+ bytes) that operators' admin commands are signed with;
    /// only the services that serve admin RPCs and the operators hold it.
    #[arg(long, env = "CLICKCLACK_OPERATOR_KEY", default_value = crate::assertion::DEV_OPERATOR_KEY, hide_default_value = true)]
    pub operator_key: String,
}

impl Default for KeyArgs {
    fn default() -> Self {
        KeyArgs {
            internal_key: crate::assertion::DEV_INTERNAL_KEY.into(),
            operator_key: crate::assertion::DEV_OPERATOR_KEY.into(),
        }
    }
}

impl KeyArgs {
    pub fn caller_keys(&self) -> Result<CallerKeys, crate::assertion::AssertionError> {
        Ok(CallerKeys {
            internal: AssertionKey::from_secret(&self.internal_key)?,
            operator: Some(AssertionKey::operator(&self.operator_key)?),
        })
    }

    /// A service started on its own (not as `clickclack dev`) refuses the
    /// built-in development keys: everyone can read them in the source.
    pub fn require_production(&self) -> Result<(), DevKeyRefused> {
        refuse_dev_key(
            "CLICKCLACK_INTERNAL_KEY",
            &self.internal_key,
            crate::assertion::DEV_INTERNAL_KEY,
        )?;
        refuse_dev_key(
            "CLICKCLACK_OPERATOR_KEY",
            &self.operator_key,
            crate::assertion::DEV_OPERATOR_KEY,
        )
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "{0} is the built-in development key, which is public; set a secret of your own (32+ random bytes, e.g. `openssl rand -hex 32`). The development keys only work under `clickclack dev`."
)]
pub struct DevKeyRefused(pub &'static str);

/// Refuses `value` when it is the development key `dev`.
pub fn refuse_dev_key(name: &'static str, value: &str, dev: &str) -> Result<(), DevKeyRefused> {
    if value == dev {
        Err(DevKeyRefused(name))
    } else {
        Ok(())
    }
}
