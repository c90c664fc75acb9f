//! ClickClack gateway: the HTTP API of `API.md` in front of the gRPC
//! services. It authenticates bearer tokens through identity, enforces
//! scopes and workspace binding, and forwards to the service that owns the
//! data. It stores nothing durable.

pub mod auth;
pub mod auth_cache;
pub mod cookies;
pub mod early_errors;
pub mod error;
pub mod input;
pub mod limits;
pub mod live;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod policy;
pub mod principal;
pub mod render;
pub mod routes;
pub mod state;
pub mod unread_body;
pub mod users;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::ListenerExt;
use clickclack_common::assertion::AssertionKey;
use clickclack_proto::realtime::realtime_service_client::RealtimeServiceClient;
use state::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic_health::pb::health_client::HealthClient;

pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8080";
pub const DEFAULT_IDENTITY_ADDR: &str = "http://127.0.0.1:50051";
pub const DEFAULT_MESSAGING_ADDR: &str = "http://127.0.0.1:50052";
pub const DEFAULT_REALTIME_ADDR: &str = "http://127.0.0.1:50053";
pub const DEFAULT_WEBHOOKS_ADDR: &str = "http://127.0.0.1:50054";
/// Open WebSockets one gateway accepts before answering 1013.
pub const DEFAULT_MAX_SOCKETS: usize = 10_000;
/// Uploads up to 25 MiB by default.
pub const DEFAULT_UPLOAD_MAX_BYTES: u64 = 25 * 1024 * 1024;
/// How long a stopping gateway drains by default.
pub const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 10_000;
/// gRPC messages must fit the largest upload plus its envelope.
const MAX_GRPC_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// JSON request bodies are capped at 1 MiB (API.md §0).
pub(crate) const JSON_BODY_LIMIT: usize = 1024 * 1024;

#[derive(Debug, Clone, clap::Args)]
pub struct GatewayConfig {
    /// HTTP listen address.
    #[arg(long, env = "CLICKCLACK_HTTP_ADDR", default_value = DEFAULT_HTTP_ADDR)]
    pub http_addr: SocketAddr,
    /// Identity service gRPC address.
    #[arg(long, env = "CLICKCLACK_IDENTITY_ADDR", default_value = DEFAULT_IDENTITY_ADDR)]
    pub identity_addr: String,
    /// How long a successful authentication is reused, in milliseconds.
    /// Revocations do not wait for it: identity's change notices empty the
    /// cache at once, and nothing is cached while notices are not arriving.
    #[arg(long, env = "CLICKCLACK_AUTH_CACHE_MS", default_value_t = 30_000)]
    pub auth_cache_ms: u64,
    /// Messaging service gRPC address.
    #[arg(long, env = "CLICKCLACK_MESSAGING_ADDR", default_value = DEFAULT_MESSAGING_ADDR)]
    pub messaging_addr: String,
    /// Shared secret that signs principal assertions (at least 32 bytes).
    #[arg(long, env = "CLICKCLACK_INTERNAL_KEY", default_value = clickclack_common::assertion::DEV_INTERNAL_KEY, hide_default_value = true)]
    pub internal_key: String,
    /// Realtime service gRPC address.
    #[arg(long, env = "CLICKCLACK_REALTIME_ADDR", default_value = DEFAULT_REALTIME_ADDR)]
    pub realtime_addr: String,
    /// Webhooks service gRPC address (event subscriptions).
    #[arg(long, env = "CLICKCLACK_WEBHOOKS_ADDR", default_value = DEFAULT_WEBHOOKS_ADDR)]
    pub webhooks_addr: String,
    /// Open WebSockets this gateway accepts; more are closed with 1013.
    #[arg(long, env = "CLICKCLACK_MAX_SOCKETS", default_value_t = DEFAULT_MAX_SOCKETS)]
    pub max_sockets: usize,
    /// Largest upload, in bytes (larger ones get 413).
    #[arg(long, env = "CLICKCLACK_UPLOAD_MAX_BYTES", default_value_t = DEFAULT_UPLOAD_MAX_BYTES)]
    pub upload_max_bytes: u64,
    #[command(flatten)]
    pub limits: limits::LimitsConfig,
    /// On shutdown, how long to wait for requests in flight to finish and
    /// for every WebSocket to have been sent its 1001, in milliseconds.
    #[arg(long, env = "CLICKCLACK_SHUTDOWN_GRACE_MS", default_value_t = DEFAULT_SHUTDOWN_GRACE_MS)]
    pub shutdown_grace_ms: u64,
    #[command(flatten)]
    pub mail: mail::MailConfig,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            http_addr: DEFAULT_HTTP_ADDR.parse().expect("valid default"),
            identity_addr: DEFAULT_IDENTITY_ADDR.into(),
            auth_cache_ms: 30_000,
            messaging_addr: DEFAULT_MESSAGING_ADDR.into(),
            realtime_addr: DEFAULT_REALTIME_ADDR.into(),
            webhooks_addr: DEFAULT_WEBHOOKS_ADDR.into(),
            max_sockets: DEFAULT_MAX_SOCKETS,
            internal_key: clickclack_common::assertion::DEV_INTERNAL_KEY.into(),
            upload_max_bytes: DEFAULT_UPLOAD_MAX_BYTES,
            shutdown_grace_ms: DEFAULT_SHUTDOWN_GRACE_MS,
            limits: Default::default(),
            mail: Default::default(),
        }
    }
}

pub fn build_state(config: &GatewayConfig) -> Result<AppState, error::StartError> {
    use clickclack_common::assertion::Claims;
    use clickclack_common::grpc::{lazy_channel, traced, traced_as};
    let key = AssertionKey::from_secret(&config.internal_key)?;
    // Calls made for a principal carry its assertion; the rest are signed
    // as the gateway itself.
    let identity = traced_as(
        lazy_channel(&config.identity_addr)?,
        key.clone(),
        Claims::gateway,
    );
    let messaging = traced_as(
        lazy_channel(&config.messaging_addr)?,
        key.clone(),
        Claims::gateway,
    );
    let realtime = traced(lazy_channel(&config.realtime_addr)?);
    let webhooks = traced_as(
        lazy_channel(&config.webhooks_addr)?,
        key.clone(),
        Claims::gateway,
    );
    Ok(AppState::new(state::GatewayState {
        webhooks_peer: webhooks,
        identity_peer: identity.clone(),
        identity_health: HealthClient::new(identity),
        messaging_peer: messaging.clone(),
        messaging_health: HealthClient::new(messaging),
        realtime: RealtimeServiceClient::new(realtime.clone()),
        realtime_health: HealthClient::new(realtime),
        sockets: Arc::new(AtomicUsize::new(0)),
        max_sockets: config.max_sockets,
        assertions: key,
        auth_cache: Arc::new(auth_cache::AuthCache::new(Duration::from_millis(
            config.auth_cache_ms,
        ))),
        users: Arc::new(users::UserDirectory::new(Duration::from_secs(30))),
        metrics: Arc::new(metrics::Metrics::new()),
        upload_max_bytes: config.upload_max_bytes,
        locations: moka::sync::Cache::new(policy::LOCATIONS_LIMIT),
        shutdown: CancellationToken::new(),
        socket_tasks: tokio_util::task::TaskTracker::new(),
        rate_limits: Arc::new(limits::RateLimits::new(&config.limits)?),
        limits: config.limits.clone(),
        public_url: config.mail.public_url(),
        mailer: Arc::new(mail::Mailer::from_config(&config.mail)?),
        live: live::LiveFeed::new(),
    }))
}

pub fn router(state: AppState) -> Router {
    use routes::{
        account, app_installations, bot_by_id, bots, channels, command_invocations, dms,
        event_subscriptions, incoming_webhooks, me, message_actions, messages, ops, realtime,
        search, sessions, slash_commands, uploads, web, workspaces,
    };
    // Multipart bodies may be as large as an upload (plus form overhead).
    let upload_body_limit = DefaultBodyLimit::max(state.upload_max_bytes as usize + 64 * 1024);
    let shed = tower::ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(limits::shed))
        .load_shed()
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            state.limits.max_in_flight,
        ))
        .timeout(Duration::from_millis(state.limits.request_timeout_ms));
    // Who may call each route is in `policy::RULES`; the book applies it.
    let api = routes::RouteBook::new(state.clone())
        .mount("GET", "/api/me", me::get_me)
        .mount("PATCH", "/api/me", account::update_me)
        .mount("GET", "/api/me/bots", bots::mine)
        .mount("POST", "/api/auth/magic/request", sessions::request)
        .mount("POST", "/api/auth/magic/consume", sessions::consume)
        .mount("POST", "/api/auth/logout", sessions::logout)
        .mount("GET", "/api/workspaces", workspaces::list)
        .mount("POST", "/api/workspaces", account::create_workspace)
        .mount("GET", "/api/workspaces/{id}", workspaces::get)
        .mount("PATCH", "/api/workspaces/{id}", account::update_workspace)
        .mount("DELETE", "/api/workspaces/{id}", account::delete_workspace)
        .mount(
            "POST",
            "/api/workspaces/{id}/transfer-ownership",
            account::transfer_ownership,
        )
        .mount("GET", "/api/workspaces/{id}/members", account::members)
        .mount(
            "POST",
            "/api/workspaces/{id}/invites",
            account::create_invite,
        )
        .mount(
            "POST",
            "/api/invites/{token}/accept",
            account::accept_invite,
        )
        .mount("GET", "/api/event-types", realtime::event_types)
        .mount("GET", "/api/workspaces/{id}/bots", bots::list)
        .mount("POST", "/api/workspaces/{id}/bots", bots::create)
        .mount(
            "GET",
            "/api/workspaces/{id}/bots/{bot_id}/tokens",
            bots::tokens,
        )
        .mount(
            "POST",
            "/api/workspaces/{id}/bots/{bot_id}/tokens",
            bots::mint,
        )
        .mount(
            "POST",
            "/api/workspaces/{id}/bots/{bot_id}/setup-codes",
            bots::create_setup_code,
        )
        .mount(
            "GET",
            "/api/workspaces/{id}/bots/{bot_id}/setup-codes",
            bots::list_setup_codes,
        )
        .mount(
            "DELETE",
            "/api/workspaces/{id}/bots/{bot_id}/membership",
            bots::remove,
        )
        .mount("GET", "/api/workspaces/{id}/audit-log", bots::audit_log)
        .mount(
            "GET",
            "/api/workspaces/{id}/app-installations",
            app_installations::list,
        )
        .mount(
            "POST",
            "/api/workspaces/{id}/app-installations",
            app_installations::install,
        )
        .mount(
            "POST",
            "/api/app-installations/{id}/revoke",
            app_installations::revoke,
        )
        .mount(
            "GET",
            "/api/workspaces/{id}/bot-commands",
            bots::list_commands,
        )
        .mount("POST", "/api/bot-setup-codes/claim", bots::claim_setup_code)
        .mount(
            "POST",
            "/api/bot-setup-codes/{id}/revoke",
            bots::revoke_setup_code,
        )
        .mount("POST", "/api/bot-tokens/{token_id}/revoke", bots::revoke)
        .mount("POST", "/api/bot-tokens/{token_id}/rotate", bots::rotate)
        .mount("PUT", "/api/bots/self/commands", bots::set_commands)
        .mount("GET", "/api/bots/{bot_id}/tokens", bot_by_id::tokens)
        .mount("POST", "/api/bots/{bot_id}/tokens", bot_by_id::mint)
        .mount("DELETE", "/api/bots/{bot_id}", bot_by_id::remove)
        .mount(
            "GET",
            "/api/workspaces/{id}/event-subscriptions",
            event_subscriptions::list,
        )
        .mount(
            "POST",
            "/api/workspaces/{id}/event-subscriptions",
            event_subscriptions::create,
        )
        .mount(
            "GET",
            "/api/event-subscriptions/{id}",
            event_subscriptions::get,
        )
        .mount(
            "POST",
            "/api/event-subscriptions/{id}/revoke",
            event_subscriptions::revoke,
        )
        .mount(
            "POST",
            "/api/event-subscriptions/{id}/rotate-secret",
            event_subscriptions::rotate_secret,
        )
        .mount(
            "GET",
            "/api/event-subscriptions/{id}/deliveries",
            event_subscriptions::deliveries,
        )
        .mount(
            "POST",
            "/api/event-subscriptions/{id}/redeliver",
            event_subscriptions::redeliver,
        )
        .mount(
            "POST",
            "/api/event-subscriptions/{id}/test",
            event_subscriptions::send_test_event,
        )
        .mount(
            "GET",
            "/api/workspaces/{id}/incoming-webhooks",
            incoming_webhooks::list,
        )
        .mount(
            "POST",
            "/api/workspaces/{id}/incoming-webhooks",
            incoming_webhooks::create,
        )
        .mount(
            "POST",
            "/api/incoming-webhooks/{id}/revoke",
            incoming_webhooks::revoke,
        )
        .mount("POST", "/api/hooks/{id}/{secret}", incoming_webhooks::post)
        .mount(
            "GET",
            "/api/workspaces/{id}/slash-commands",
            slash_commands::list,
        )
        .mount(
            "POST",
            "/api/workspaces/{id}/slash-commands",
            slash_commands::create,
        )
        .mount(
            "POST",
            "/api/slash-commands/{id}/revoke",
            slash_commands::revoke,
        )
        .mount(
            "POST",
            "/api/slash-commands/{id}/rotate-secret",
            slash_commands::rotate_secret,
        )
        .mount(
            "GET",
            "/api/slash-commands/{id}/invocations",
            command_invocations::list,
        )
        .mount("POST", "/api/hooks/slash/{id}", command_invocations::invoke)
        .mount(
            "POST",
            "/api/command-responses/{token}",
            command_invocations::respond,
        )
        .mount(
            "PATCH",
            "/api/command-responses/{token}",
            command_invocations::replace,
        )
        .mount(
            "POST",
            "/api/messages/{id}/actions/{action_id}",
            message_actions::press,
        )
        .mount(
            "PUT",
            "/api/workspaces/{id}/bots/{bot_id}/interactivity",
            message_actions::set,
        )
        .mount(
            "GET",
            "/api/workspaces/{id}/bots/{bot_id}/interactivity",
            message_actions::get,
        )
        .mount(
            "DELETE",
            "/api/workspaces/{id}/bots/{bot_id}/interactivity",
            message_actions::remove,
        )
        .mount(
            "POST",
            "/api/workspaces/{id}/bots/{bot_id}/interactivity/rotate-secret",
            message_actions::rotate_secret,
        )
        .mount(
            "GET",
            "/api/workspaces/{id}/bots/{bot_id}/interactivity/invocations",
            message_actions::invocations,
        )
        .mount("GET", "/api/workspaces/{id}/channels", channels::list)
        .mount("POST", "/api/workspaces/{id}/channels", channels::create)
        .mount("PATCH", "/api/channels/{id}", channels::update)
        .mount("POST", "/api/channels/{id}/read", channels::mark_read)
        .mount(
            "GET",
            "/api/channels/{id}/messages",
            messages::list_in_channel,
        )
        .mount(
            "POST",
            "/api/channels/{id}/messages",
            messages::create_in_channel,
        )
        .mount("GET", "/api/messages/by-nonce", messages::by_nonce)
        .mount("GET", "/api/messages/{id}", messages::get)
        .mount("PATCH", "/api/messages/{id}", messages::edit)
        .mount("DELETE", "/api/messages/{id}", messages::delete)
        .mount("GET", "/api/messages/{id}/thread", messages::thread)
        .mount("POST", "/api/messages/{id}/thread/replies", messages::reply)
        .mount(
            "POST",
            "/api/messages/{id}/reactions",
            messages::add_reaction,
        )
        .mount(
            "DELETE",
            "/api/messages/{id}/reactions/{emoji}",
            messages::remove_reaction,
        )
        .mount("POST", "/api/messages/{id}/attachments", uploads::attach)
        .mount("GET", "/api/dms", dms::list)
        .mount("POST", "/api/dms", dms::open)
        .mount("GET", "/api/dms/{id}", dms::get)
        .mount("DELETE", "/api/dms/{id}", dms::hide)
        .mount("GET", "/api/dms/{id}/messages", dms::list_messages)
        .mount("POST", "/api/dms/{id}/messages", dms::post)
        .mount("POST", "/api/dms/{id}/read", channels::mark_dm_read)
        .mount("POST", "/api/dms/{id}/open", dms::show)
        .mount_router(
            "POST",
            "/api/uploads",
            axum::routing::post(uploads::create).layer(upload_body_limit),
        )
        .mount("GET", "/api/uploads/by-nonce", uploads::by_nonce)
        .mount("GET", "/api/uploads/{id}", uploads::download)
        .mount("GET", "/api/search", search::search)
        .mount("GET", "/api/realtime/events", realtime::events)
        .mount("GET", "/api/realtime/ws", realtime::socket)
        .mount("POST", "/api/realtime/ephemeral", realtime::ephemeral)
        // Shed load on the API only: health checks answer even at capacity.
        // At most `max_in_flight` at once (the rest get 503 at once), each
        // answered within the request timeout (or 504).
        .so_far(|api| api.route_layer(shed))
        .mount("GET", "/api/openapi.json", openapi::serve)
        .mount("GET", "/", web::index)
        .mount("GET", "/app.js", web::script)
        .mount("GET", "/app.css", web::stylesheet)
        .mount("GET", "/healthz", ops::healthz)
        .mount("GET", "/readyz", ops::readyz)
        .mount("GET", "/metrics", ops::metrics)
        .finish()
        .route_layer(axum::middleware::from_fn(middleware::expose_matched_path))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed);
    api.layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn(input::refuse_hostile_input))
        .layer(axum::middleware::from_fn_with_state(
            state.rate_limits.clone(),
            limits::rate_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ))
        // Outermost: reads what any layer or handler left unread, so an
        // early answer does not cost the client its connection.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            unread_body::keep_connection_usable,
        ))
        .with_state(state)
}

/// Serves the gateway on `listener` until `shutdown` is cancelled, then
/// drains: it stops accepting, sends every open WebSocket a 1001 close, and
/// waits (at most the configured grace) for requests in flight and sockets.
pub async fn serve(
    config: &GatewayConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), error::StartError> {
    let state = build_state(config)?;
    let background = CancellationToken::new();
    auth_cache::watch_auth_changes(state.clone(), background.clone());
    live::follow(
        state.live.clone(),
        state.realtime.clone(),
        state.assertions.clone(),
        background.clone(),
    );
    let sockets_closing = state.shutdown.clone();
    let sockets = state.socket_tasks.clone();
    let rate_limits = state.rate_limits.clone();
    every(Duration::from_secs(60), background.clone(), move || {
        rate_limits.forget_idle()
    });
    give_back_memory(background.clone());
    let app = router(state).into_make_service_with_connect_info::<early_errors::ClientAddr>();
    tracing::info!(addr = ?listener.local_addr().ok(), "gateway listening");
    // Small JSON answers must not wait out delayed ACKs.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let listener = early_errors::JsonParseErrors(listener);
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future();
    tokio::pin!(server);
    let outcome = tokio::select! {
        outcome = &mut server => Some(outcome),
        _ = shutdown.cancelled() => None,
    };
    let grace = Duration::from_millis(config.shutdown_grace_ms);
    // Upgraded connections are not the server's to wait for: tell each
    // socket to say goodbye, and wait for them alongside the HTTP drain.
    sockets_closing.cancel();
    sockets.close();
    let drained = tokio::time::timeout(grace, async {
        let outcome = match outcome {
            Some(outcome) => outcome,
            None => server.await,
        };
        sockets.wait().await;
        outcome
    })
    .await;
    background.cancel();
    match drained {
        Ok(outcome) => Ok(outcome?),
        Err(_) => {
            tracing::warn!(
                grace_ms = config.shutdown_grace_ms,
                open_sockets = sockets.len(),
                "gateway stopped before everything drained"
            );
            Ok(())
        }
    }
}

/// After a burst (thousands of sockets or requests come and gone), glibc's
/// allocator keeps the freed memory for reuse and the process stays large.
/// Every few seconds, hand what is free back to the system. Measured with
/// `bench --bin overload` (README, Benchmarks).
fn give_back_memory(shutdown: CancellationToken) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    every(Duration::from_secs(5), shutdown, || {
        // SAFETY: malloc_trim only releases free pages of the allocator's
        // own heaps; it is safe to call at any time.
        unsafe { libc::malloc_trim(0) };
    });
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = shutdown;
}

/// Runs `work` off the async threads every `period` until `shutdown`.
fn every(period: Duration, shutdown: CancellationToken, work: impl Fn() + Clone + Send + 'static) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    let _ = tokio::task::spawn_blocking(work.clone()).await;
                }
                _ = shutdown.cancelled() => return,
            }
        }
    });
}

/// Runs the gateway as its own process.
pub async fn run(
    config: GatewayConfig,
    shutdown: CancellationToken,
) -> Result<(), error::StartError> {
    clickclack_common::caller_policy::refuse_dev_key(
        "CLICKCLACK_INTERNAL_KEY",
        &config.internal_key,
        clickclack_common::assertion::DEV_INTERNAL_KEY,
    )?;
    let addr = config.http_addr;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| error::StartError::Listen { addr, source })?;
    serve(&config, listener, shutdown).await
}
