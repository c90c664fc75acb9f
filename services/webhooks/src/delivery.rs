//! The HTTP client that delivers, and only to where it may.
//!
//! - The host is resolved by [`CheckedResolver`], which keeps only the
//!   addresses [`TargetPolicy::may_connect`] allows; the connection goes to
//!   one of those, so a name cannot be checked at one address and then
//!   reached at another (DNS rebinding). A URL naming an IP address is
//!   checked directly.
//! - No redirect is followed (a 3xx is an answer like any other), no proxy
//!   from the environment is used.
//! - An attempt gives up after [`ATTEMPT_TIMEOUT`], and at most
//!   [`KEPT_BODY_BYTES`] of the answer are read; the rest is dropped with
//!   the connection.

use crate::domain::schedule::{Outcome, parse_retry_after};
use crate::domain::target::TargetPolicy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::{Host, Url};

/// The longest one attempt may take, connection included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an answer is kept for the delivery log.
pub const KEPT_BODY_BYTES: usize = 1024;
const USER_AGENT: &str = concat!("ClickClack-Webhooks/", env!("CARGO_PKG_VERSION"));

/// One delivery to send.
pub struct Outgoing<'a> {
    pub url: &'a Url,
    pub body: &'a [u8],
    pub headers: &'a [(&'static str, String)],
}

/// What an attempt came to, for the verdict and the delivery log.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub outcome: Outcome,
    pub latency: Duration,
    /// The first [`KEPT_BODY_BYTES`] of the answer (lossy UTF-8).
    pub response_body: String,
    /// Why there was no answer, in words (never a secret).
    pub error: Option<String>,
}

/// Resolves names to the addresses the policy allows, and no others.
struct CheckedResolver {
    policy: Arc<TargetPolicy>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| policy.may_connect(&host, addr.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(NotAllowed(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to addresses this deployment does not deliver to")]
struct NotAllowed(String);

/// Sends deliveries under one [`TargetPolicy`].
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: Arc<TargetPolicy>,
}

impl Sender {
    pub fn new(policy: TargetPolicy) -> Sender {
        Self::with_roots(policy, Vec::new())
    }

    /// A sender that also trusts `roots` (tests with their own CA).
    pub fn with_roots(policy: TargetPolicy, roots: Vec<reqwest::Certificate>) -> Sender {
        let policy = Arc::new(policy);
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(ATTEMPT_TIMEOUT)
            .connect_timeout(ATTEMPT_TIMEOUT)
            .user_agent(USER_AGENT)
            .pool_max_idle_per_host(2)
            .dns_resolver(Arc::new(CheckedResolver {
                policy: policy.clone(),
            }));
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
        Sender {
            client: builder.build().expect("a TLS client"),
            policy,
        }
    }

    /// Sends one attempt and says how it went; never panics and never
    /// waits longer than [`ATTEMPT_TIMEOUT`].
    pub async fn send(&self, outgoing: Outgoing<'_>) -> Attempt {
        self.send_within(outgoing, ATTEMPT_TIMEOUT, KEPT_BODY_BYTES)
            .await
    }

    /// Sends one attempt that gives up after `limit` and keeps at most
    /// `kept_bytes` of the answer (a slash command's reply is read whole).
    pub async fn send_within(
        &self,
        outgoing: Outgoing<'_>,
        limit: Duration,
        kept_bytes: usize,
    ) -> Attempt {
        let started = Instant::now();
        let refused = |error: String| Attempt {
            outcome: Outcome::Refused,
            latency: started.elapsed(),
            response_body: String::new(),
            error: Some(error),
        };
        let literal = match outgoing.url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(Host::Domain(_)) => None,
            None => return refused("the URL names no host".into()),
        };
        let host = outgoing.url.host_str().unwrap_or_default();
        if let Some(ip) = literal
            && !self.policy.may_connect(host, ip)
        {
            return refused(format!(
                "{ip} is an address this deployment does not deliver to"
            ));
        }
        let mut request = self
            .client
            .post(outgoing.url.clone())
            .header("content-type", "application/json")
            .timeout(limit)
            .body(outgoing.body.to_vec());
        for (name, value) in outgoing.headers {
            request = request.header(*name, value);
        }
        let deadline = tokio::time::Instant::now() + limit;
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return failed(&error, started, limit),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let mut kept = Vec::new();
        // Read to the bound, within what is left of the timeout; the rest
        // of the answer is never read.
        while kept.len() < kept_bytes {
            match tokio::time::timeout_at(deadline, response.chunk()).await {
                Ok(Ok(Some(chunk))) => kept.extend_from_slice(&chunk),
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => break,
            }
        }
        kept.truncate(kept_bytes);
        Attempt {
            outcome: Outcome::Answered {
                status,
                retry_after,
            },
            latency: started.elapsed(),
            response_body: String::from_utf8_lossy(&kept).into_owned(),
            error: None,
        }
    }
}

/// An attempt that got no answer.
fn failed(error: &reqwest::Error, started: Instant, limit: Duration) -> Attempt {
    let outcome = if error.is_timeout() {
        Outcome::TimedOut
    } else if source_chain(error).any(|cause| cause.is::<NotAllowed>()) {
        Outcome::Refused
    } else {
        Outcome::Unreachable
    };
    let reason = match outcome {
        Outcome::TimedOut => format!("no answer within {} s", limit.as_secs_f32()),
        Outcome::Refused => source_chain(error)
            .find(|cause| cause.is::<NotAllowed>())
            .map(ToString::to_string)
            .unwrap_or_default(),
        _ => format!("could not connect: {}", innermost(error)),
    };
    Attempt {
        outcome,
        latency: started.elapsed(),
        response_body: String::new(),
        error: Some(reason),
    }
}

fn source_chain(
    error: &reqwest::Error,
) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    std::iter::successors(
        std::error::Error::source(error),
        |cause: &&(dyn std::error::Error + 'static)| cause.source(),
    )
}

/// The deepest cause, which says what actually went wrong (refused, reset).
fn innermost(error: &reqwest::Error) -> String {
    source_chain(error)
        .last()
        .map(ToString::to_string)
        .unwrap_or_else(|| error.to_string())
}
