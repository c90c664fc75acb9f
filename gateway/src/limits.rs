//! Rate limits and load shedding at the edge.
//!
//! Rate limits are token buckets (GCRA, from `governor`) per route class:
//! reads, writes, uploads, and the unauthenticated sign-in routes. A request
//! with a bearer token is counted against that token (its SHA-256, never the
//! token), the sign-in routes and anonymous requests against the client's
//! address. Every `/api` answer carries `X-RateLimit-Limit`,
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until the
//! bucket is full again); past the limit the answer is 429 with
//! `Retry-After`. Limits are per gateway replica: with N replicas behind a
//! balancer a client may get up to N times the rate.
//!
//! Load shedding: at most `CLICKCLACK_MAX_IN_FLIGHT` requests are handled
//! at once; beyond that the gateway answers 503 with `Retry-After` at once
//! instead of queueing, and a request that takes longer than
//! `CLICKCLACK_REQUEST_TIMEOUT_MS` answers 504.

use crate::early_errors::ClientAddr;
use crate::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// What a bucket is keyed by: a credential's hash, or a client address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Caller {
    Credential([u8; 32]),
    Address(IpAddr),
}

type Buckets =
    RateLimiter<Caller, DefaultKeyedStateStore<Caller>, DefaultClock, StateInformationMiddleware>;

/// The route classes, each with its own limit.
#[derive(Debug, Clone, Copy)]
enum Class {
    Read,
    Write,
    Upload,
    SignIn,
}

/// A limit such as `100/s`, `30/m` or `1000/h`: that many requests per
/// period, all of which may come at once (the burst is one period's worth).
/// `0/s` turns the class's limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Rate, String> {
        let (count, unit) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("{text:?}: expected a rate such as 100/s, 30/m or 1000/h"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: the count must be a whole number"))?;
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            other => {
                return Err(format!(
                    "{text:?}: unknown period {other:?} (use s, m or h)"
                ));
            }
        };
        Ok(Rate { count, per })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "m",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// The limits of one gateway, from its configuration.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitsConfig {
    /// Reads (GET, the WebSocket upgrade) per credential, e.g. `100/s`.
    #[arg(long, env = "CLICKCLACK_RATE_READS", default_value = "100/s")]
    pub rate_reads: Rate,
    /// Writes (POST, PUT, PATCH, DELETE) per credential.
    #[arg(long, env = "CLICKCLACK_RATE_WRITES", default_value = "30/s")]
    pub rate_writes: Rate,
    /// Uploads per credential.
    #[arg(long, env = "CLICKCLACK_RATE_UPLOADS", default_value = "5/s")]
    pub rate_uploads: Rate,
    /// Sign-in routes (magic links, setup-code claims) per client address.
    #[arg(long, env = "CLICKCLACK_RATE_SIGN_IN", default_value = "10/m")]
    pub rate_sign_in: Rate,
    /// Header with the client's address when the gateway sits behind a
    /// proxy you trust (e.g. `x-forwarded-for`; its last entry is used).
    /// Without it, the connection's peer address is the client.
    #[arg(long, env = "CLICKCLACK_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<String>,
    /// Requests handled at once; more are shed with 503 and `Retry-After`.
    #[arg(long, env = "CLICKCLACK_MAX_IN_FLIGHT", default_value_t = 128)]
    pub max_in_flight: usize,
    /// A request still unanswered after this long answers 504.
    #[arg(long, env = "CLICKCLACK_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            rate_reads: "100/s".parse().expect("valid"),
            rate_writes: "30/s".parse().expect("valid"),
            rate_uploads: "5/s".parse().expect("valid"),
            rate_sign_in: "10/m".parse().expect("valid"),
            client_ip_header: None,
            max_in_flight: 128,
            request_timeout_ms: 30_000,
        }
    }
}

struct Limit {
    rate: Rate,
    buckets: Buckets,
}

impl Limit {
    fn new(rate: Rate) -> Option<Limit> {
        let count = NonZeroU32::new(rate.count)?;
        let quota = Quota::with_period(rate.per / rate.count)?.allow_burst(count);
        Some(Limit {
            rate,
            buckets: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
        })
    }
}

/// Every class's buckets.
pub struct RateLimits {
    reads: Option<Limit>,
    writes: Option<Limit>,
    uploads: Option<Limit>,
    sign_in: Option<Limit>,
    client_ip_header: Option<HeaderName>,
}

impl RateLimits {
    pub fn new(config: &LimitsConfig) -> Result<RateLimits, crate::error::StartError> {
        let client_ip_header = config
            .client_ip_header
            .as_deref()
            .filter(|name| !name.trim().is_empty())
            .map(|name| {
                HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                    crate::error::StartError::Setting(format!(
                        "CLICKCLACK_CLIENT_IP_HEADER {name:?} is not a header name"
                    ))
                })
            })
            .transpose()?;
        Ok(RateLimits {
            reads: Limit::new(config.rate_reads),
            writes: Limit::new(config.rate_writes),
            uploads: Limit::new(config.rate_uploads),
            sign_in: Limit::new(config.rate_sign_in),
            client_ip_header,
        })
    }

    fn limit(&self, class: Class) -> Option<&Limit> {
        match class {
            Class::Read => self.reads.as_ref(),
            Class::Write => self.writes.as_ref(),
            Class::Upload => self.uploads.as_ref(),
            Class::SignIn => self.sign_in.as_ref(),
        }
    }

    /// Forgets buckets that are full again, so memory does not grow with
    /// every token or address ever seen.
    pub fn forget_idle(&self) {
        for limit in [&self.reads, &self.writes, &self.uploads, &self.sign_in]
            .into_iter()
            .flatten()
        {
            limit.buckets.retain_recent();
            limit.buckets.shrink_to_fit();
        }
    }
}

/// The unauthenticated routes whose abuse a limit per address stops.
const SIGN_IN_ROUTES: &[&str] = &[
    "/api/auth/magic/request",
    "/api/auth/magic/consume",
    "/api/bot-setup-codes/claim",
];

fn class_of(method: &Method, path: &str) -> Class {
    if SIGN_IN_ROUTES.contains(&path) {
        Class::SignIn
    } else if path == "/api/uploads" && method == Method::POST {
        Class::Upload
    } else if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        Class::Read
    } else {
        Class::Write
    }
}

fn client_address(request: &Request, header_name: Option<&HeaderName>) -> Option<IpAddr> {
    if let Some(name) = header_name
        && let Some(forwarded) = request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .and_then(|last| last.trim().parse().ok())
    {
        return Some(forwarded);
    }
    request
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|info| info.0.0.ip())
}

fn caller_of(request: &Request, class: Class, limits: &RateLimits) -> Option<Caller> {
    // An incoming webhook's URL (or a command's response URL) is its
    // credential: each has its own bucket, like a token.
    if crate::routes::path_credential(request.uri().path()).is_some() {
        return Some(Caller::Credential(clickclack_common::token::sha256(&[
            request.uri().path().as_bytes(),
        ])));
    }
    if !matches!(class, Class::SignIn)
        && let Some(token) = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.as_bytes().get(7..))
            .filter(|token| !token.is_empty())
    {
        return Some(Caller::Credential(clickclack_common::token::sha256(&[
            token,
        ])));
    }
    client_address(request, limits.client_ip_header.as_ref()).map(Caller::Address)
}

fn number(value: u64) -> HeaderValue {
    HeaderValue::from(value)
}

/// Counts the request against its bucket; answers 429 past the limit.
pub async fn rate_limit(
    State(limits): State<Arc<RateLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/api/") {
        return next.run(request).await;
    }
    let class = class_of(request.method(), path);
    let Some(limit) = limits.limit(class) else {
        return next.run(request).await;
    };
    let Some(caller) = caller_of(&request, class, &limits) else {
        return next.run(request).await;
    };
    let interval = limit.rate.per / limit.rate.count;
    let (mut response, remaining, reset) = match limit.buckets.check_key(&caller) {
        Ok(snapshot) => {
            let remaining = snapshot.remaining_burst_capacity();
            let used = u64::from(limit.rate.count.saturating_sub(remaining));
            let reset = (interval * used as u32).as_secs_f64().ceil() as u64;
            (next.run(request).await, remaining, reset)
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let retry_after = wait.as_secs_f64().ceil().max(1.0) as u64;
            let mut refused = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "rate limit exceeded ({} for this kind of request); retry in {retry_after} s",
                    limit.rate
                ),
            )
            .into_response();
            refused
                .headers_mut()
                .insert(header::RETRY_AFTER, number(retry_after));
            let reset = limit.rate.per.as_secs_f64().ceil() as u64;
            (refused, 0, reset)
        }
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", number(limit.rate.count.into()));
    headers.insert("x-ratelimit-remaining", number(remaining.into()));
    headers.insert("x-ratelimit-reset", number(reset));
    response
}

/// What the shedding layers' errors become: 503 when over capacity, 504
/// on timeout, both with `Retry-After`.
pub async fn shed(error: tower::BoxError) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        return ApiError::new(StatusCode::GATEWAY_TIMEOUT, "the request took too long")
            .into_response();
    }
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the gateway is at capacity; retry shortly",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        let rate: Rate = "100/s".parse().unwrap();
        assert_eq!(
            rate,
            Rate {
                count: 100,
                per: Duration::from_secs(1)
            }
        );
        assert_eq!("10/m".parse::<Rate>().unwrap().to_string(), "10/m");
        assert!("ten/s".parse::<Rate>().is_err());
        assert!("10/d".parse::<Rate>().is_err());
        assert!(Limit::new("0/s".parse().unwrap()).is_none());
    }

    #[test]
    fn routes_fall_into_classes() {
        assert!(matches!(class_of(&Method::GET, "/api/me"), Class::Read));
        assert!(matches!(class_of(&Method::POST, "/api/dms"), Class::Write));
        assert!(matches!(
            class_of(&Method::POST, "/api/uploads"),
            Class::Upload
        ));
        assert!(matches!(
            class_of(&Method::POST, "/api/auth/magic/request"),
            Class::SignIn
        ));
    }
}
