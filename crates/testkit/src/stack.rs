use crate::TestDatabase;
pub use clickclack_cli::stack::WebhookSettings;
use clickclack_cli::stack::{self, RunningStack, StackConfig};
use clickclack_common::assertion::{AssertionKey, Claims, DEV_INTERNAL_KEY, DEV_OPERATOR_KEY};
use clickclack_common::grpc::{Peer, traced_as};
use clickclack_gateway::limits::LimitsConfig;
pub use clickclack_gateway::mail::MailConfig;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// The whole system, in-process, on ephemeral ports, on a fresh database.
pub struct TestStack {
    pub http_url: String,
    pub identity_url: String,
    pub messaging_url: String,
    pub realtime_url: String,
    pub webhooks_url: String,
    /// Where this stack's messaging stores uploads (removed on drop).
    pub upload_dir: PathBuf,
    pub http: reqwest::Client,
    /// The gateways' auth-cache TTL, replicas' too.
    auth_cache_ms: u64,
    /// What webhooks runs with, replicas' too.
    webhook_settings: WebhookSettings,
    stack: Option<RunningStack>,
    // Declared last: dropped after the stack has stopped using it.
    pub db: TestDatabase,
}

/// Where the services listen and the key they sign internal calls with.
struct Listen {
    ip: std::net::IpAddr,
    internal_key: String,
    mail: MailConfig,
    pools: clickclack_cli::stack::DbPools,
    webhooks: WebhookSettings,
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            ip: std::net::Ipv4Addr::LOCALHOST.into(),
            internal_key: DEV_INTERNAL_KEY.into(),
            // As in `clickclack dev`: no SMTP, links go back to loopback.
            mail: MailConfig {
                dev_links: true,
                ..MailConfig::default()
            },
            pools: clickclack_cli::stack::DbPools::all(4),
            webhooks: WebhookSettings::default(),
        }
    }
}

/// Rate limits far above what any test sends, so only the tests about
/// limits meet them.
fn unlimited() -> LimitsConfig {
    let off = "0/s".parse().expect("a rate");
    LimitsConfig {
        rate_reads: off,
        rate_writes: off,
        rate_uploads: off,
        rate_sign_in: off,
        ..LimitsConfig::default()
    }
}

/// A bootstrapped workspace, its human owner and its `general` channel.
pub struct Bootstrapped {
    pub workspace: pb::Workspace,
    pub owner: pb::User,
    pub general: clickclack_proto::messaging::Channel,
}

/// Uploads larger than this get 413 in tests (small, so tests stay fast).
pub const TEST_UPLOAD_MAX_BYTES: u64 = 256 * 1024;

impl TestStack {
    /// Starts the stack with the default auth cache.
    pub async fn start() -> TestStack {
        Self::start_with_auth_cache_ms(500).await
    }

    pub async fn start_with_auth_cache_ms(auth_cache_ms: u64) -> TestStack {
        Self::start_with(auth_cache_ms, unlimited()).await
    }

    /// Starts the stack with the given rate limits and shedding.
    pub async fn start_with_limits(limits: LimitsConfig) -> TestStack {
        Self::start_with(500, limits).await
    }

    async fn start_with(auth_cache_ms: u64, limits: LimitsConfig) -> TestStack {
        Self::start_on(Listen::default(), auth_cache_ms, limits).await
    }

    /// Starts the stack with this magic-link delivery and public URL.
    pub async fn start_with_mail(mail: MailConfig) -> TestStack {
        Self::start_on(
            Listen {
                mail,
                ..Listen::default()
            },
            500,
            unlimited(),
        )
        .await
    }

    /// Starts the stack with this webhooks clock (a shrunk retry schedule,
    /// a short lease).
    pub async fn start_with_webhooks(webhooks: WebhookSettings) -> TestStack {
        Self::start_with_key_and_webhooks(DEV_INTERNAL_KEY, webhooks).await
    }

    /// Starts the stack signing with `internal_key` (not the public dev
    /// key, so a service run as its own process can join it) and with this
    /// webhooks clock.
    pub async fn start_with_key_and_webhooks(
        internal_key: &str,
        webhooks: WebhookSettings,
    ) -> TestStack {
        Self::start_on(
            Listen {
                internal_key: internal_key.to_owned(),
                webhooks,
                ..Listen::default()
            },
            500,
            unlimited(),
        )
        .await
    }

    /// Starts the stack with these database pool sizes.
    pub async fn start_with_pools(pools: clickclack_cli::stack::DbPools) -> TestStack {
        Self::start_on(
            Listen {
                pools,
                ..Listen::default()
            },
            500,
            unlimited(),
        )
        .await
    }

    /// Starts the services listening on `ip` (for a gateway in another
    /// network namespace to reach) and signing with `internal_key`.
    pub async fn start_exposed(ip: std::net::IpAddr, internal_key: &str) -> TestStack {
        Self::start_on(
            Listen {
                ip,
                internal_key: internal_key.to_owned(),
                ..Listen::default()
            },
            500,
            unlimited(),
        )
        .await
    }

    async fn start_on(listen: Listen, auth_cache_ms: u64, limits: LimitsConfig) -> TestStack {
        let db = TestDatabase::create().await;
        let upload_dir = std::env::temp_dir().join(db.name());
        let stack = Self::run_services(&db.url, &upload_dir, auth_cache_ms, &limits, &listen).await;
        let webhook_settings = listen.webhooks.clone();
        TestStack {
            http_url: stack.http_url(),
            identity_url: stack.identity_url(),
            messaging_url: stack.messaging_url(),
            realtime_url: stack.realtime_url(),
            webhooks_url: stack.webhooks_url(),
            upload_dir,
            http: reqwest::Client::new(),
            auth_cache_ms,
            webhook_settings,
            stack: Some(stack),
            db,
        }
    }

    /// A second copy of every service and the gateway on the same database,
    /// as a second replica in a deployment would be.
    pub async fn start_replica(&self) -> RunningStack {
        Self::run_services(
            &self.db.url,
            &self.upload_dir,
            self.auth_cache_ms,
            &unlimited(),
            &Listen {
                webhooks: self.webhook_settings.clone(),
                ..Listen::default()
            },
        )
        .await
    }

    async fn run_services(
        database_url: &str,
        upload_dir: &std::path::Path,
        auth_cache_ms: u64,
        limits: &LimitsConfig,
        listen: &Listen,
    ) -> RunningStack {
        let any_port = |ip| std::net::SocketAddr::new(ip, 0);
        RunningStack::start(
            StackConfig {
                database_url: database_url.into(),
                identity_listen: any_port(listen.ip),
                messaging_listen: any_port(listen.ip),
                realtime_listen: any_port(listen.ip),
                webhooks_listen: any_port(listen.ip),
                webhooks: listen.webhooks.clone(),
                http_addr: "127.0.0.1:0".parse().expect("addr"),
                upload_dir: upload_dir.to_path_buf(),
                upload_max_bytes: TEST_UPLOAD_MAX_BYTES,
                internal_key: listen.internal_key.clone(),
                operator_key: DEV_OPERATOR_KEY.into(),
                auth_cache_ms,
                db_pools: listen.pools,
                limits: limits.clone(),
                mail: listen.mail.clone(),
            },
            CancellationToken::new(),
        )
        .await
        .expect("start the stack")
    }

    /// Identity as the operator (what `clickclack admin` does).
    pub async fn identity(&self) -> IdentityServiceClient<Peer> {
        let channel = Channel::from_shared(self.identity_url.clone())
            .expect("identity URL")
            .connect()
            .await
            .expect("connect to identity");
        let key = AssertionKey::operator(DEV_OPERATOR_KEY).expect("dev operator key");
        IdentityServiceClient::new(traced_as(channel, key, Claims::deployment_operator))
    }

    /// A channel to one of this stack's services (`url`) whose calls are
    /// signed as an internal service, the way services call each other
    /// (stacks started with the dev internal key).
    pub async fn service_peer(&self, url: &str) -> Peer {
        let channel = Channel::from_shared(url.to_owned())
            .expect("service URL")
            .connect()
            .await
            .expect("connect to the service");
        let key = AssertionKey::from_secret(DEV_INTERNAL_KEY).expect("dev internal key");
        traced_as(channel, key, || Claims::service("svc:test", ""))
    }

    /// A new workspace with a fresh human owner.
    pub async fn bootstrap(&self, slug: &str) -> Bootstrapped {
        let created = self
            .identity()
            .await
            .bootstrap(pb::BootstrapRequest {
                owner_display_name: format!("Owner of {slug}"),
                owner_email: format!("owner@{slug}.test"),
                workspace_name: format!("Workspace {slug}"),
                workspace_slug: slug.into(),
            })
            .await
            .expect("bootstrap")
            .into_inner();
        let workspace = created.workspace.expect("workspace");
        let owner = created.owner.expect("owner");
        let general = clickclack_cli::stack::ensure_general_channel(
            &self.messaging_url,
            DEV_OPERATOR_KEY,
            &workspace.id,
            &owner.id,
        )
        .await
        .expect("create #general");
        Bootstrapped {
            workspace,
            owner,
            general,
        }
    }

    /// A human user who is a plain member of `workspace`.
    pub async fn add_human(&self, workspace: &str, handle: &str) -> pb::User {
        let mut identity = self.identity().await;
        let user = identity
            .create_user(pb::CreateUserRequest {
                display_name: format!("Human {handle}"),
                email: format!("{handle}@people.test"),
                handle: handle.into(),
            })
            .await
            .expect("create user")
            .into_inner();
        identity
            .add_member(pb::AddMemberRequest {
                workspace: workspace.into(),
                user_id: user.id.clone(),
                role: "member".into(),
            })
            .await
            .expect("add member");
        user
    }

    /// A service bot with one token of `scopes`; returns the bot and raw token.
    pub async fn service_bot(
        &self,
        workspace: &str,
        handle: &str,
        scopes: &str,
    ) -> (pb::User, String) {
        self.bot(workspace, handle, &format!("Bot {handle}"), None, scopes)
            .await
    }

    /// A bot owned by the member `owner`, with one token of `scopes`;
    /// returns the bot and raw token.
    pub async fn owned_bot(
        &self,
        workspace: &str,
        handle: &str,
        display_name: &str,
        owner: &str,
        scopes: &str,
    ) -> (pb::User, String) {
        self.bot(workspace, handle, display_name, Some(owner), scopes)
            .await
    }

    async fn bot(
        &self,
        workspace: &str,
        handle: &str,
        display_name: &str,
        owner: Option<&str>,
        scopes: &str,
    ) -> (pb::User, String) {
        let created = self
            .identity()
            .await
            .create_bot(pb::CreateBotRequest {
                workspace: workspace.into(),
                display_name: display_name.into(),
                handle: handle.into(),
                owner_user_id: owner.map(str::to_owned),
                scopes: vec![scopes.into()],
                token_name: "test".into(),
                ..Default::default()
            })
            .await
            .expect("create bot")
            .into_inner();
        (created.bot.expect("bot"), created.token)
    }

    /// Revokes every token `bot_user_id` holds, as an operator would.
    pub async fn revoke_bot_tokens(&self, bot_user_id: &str) {
        let mut identity = self.identity().await;
        let tokens = identity
            .list_bot_tokens(pb::ListBotTokensRequest {
                bot_user_id: bot_user_id.into(),
                ..Default::default()
            })
            .await
            .expect("list the bot's tokens")
            .into_inner()
            .bot_tokens;
        for token in tokens
            .into_iter()
            .filter(|token| token.revoked_at.is_none())
        {
            identity
                .revoke_bot_token(pb::RevokeBotTokenRequest {
                    token_id: token.id,
                    ..Default::default()
                })
                .await
                .expect("revoke the token");
        }
    }

    /// The test HTTP client, pointed at this stack's gateway.
    pub fn api(&self) -> crate::Api {
        crate::Api::new(self.http_url.clone(), self.http.clone())
    }

    /// The cursor realtime gave the event `answer["event"]` (a write's
    /// answer), once the outbox relay has delivered it: writes answer
    /// before their events reach the log, so the answer itself carries no
    /// cursor yet. Reads the log as `token`, waiting up to 10 s.
    pub async fn cursor_of(&self, token: &str, answer: &serde_json::Value) -> String {
        let event_id = answer["event"]["id"]
            .as_str()
            .expect("an answer with an event");
        let workspace_id = answer["event"]["workspace_id"]
            .as_str()
            .expect("its workspace");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut after = String::new();
        loop {
            let page = self
                .api()
                .get(
                    &format!(
                        "/api/realtime/events?workspace_id={workspace_id}&after_cursor={after}&limit=500"
                    ),
                    Some(token),
                )
                .await
                .expect(200, "reading the event log");
            let events = page["events"].as_array().expect("events");
            if let Some(found) = events.iter().find(|event| event["id"] == event_id) {
                return found["cursor"].as_str().expect("a cursor").to_owned();
            }
            if let Some(last) = events.last() {
                after = last["cursor"].as_str().expect("a cursor").to_owned();
            }
            if events.len() < 500 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "event {event_id} never reached the log"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }

    fn running(&mut self) -> &mut RunningStack {
        self.stack.as_mut().expect("running")
    }

    /// Stops the realtime service alone (an outage); see [`Self::start_realtime`].
    pub async fn stop_realtime(&mut self) {
        self.running().realtime.stop().await;
    }

    /// Starts realtime again on its old address, with its old config.
    pub async fn start_realtime(&mut self) {
        let stack = self.running();
        let (listener, _) = stack::bind(stack.realtime_addr, "realtime")
            .await
            .expect("rebind realtime");
        stack.realtime = stack::start_realtime(stack.realtime_config.clone(), listener)
            .await
            .expect("restart realtime");
    }

    /// Stops the webhooks service alone: nothing is fed or sent until
    /// [`Self::start_webhooks`] (or a test's own feeder and worker run).
    pub async fn stop_webhooks(&mut self) {
        self.running().webhooks.stop().await;
    }

    /// Starts webhooks again on its old address, with its old config.
    pub async fn start_webhooks(&mut self) {
        let stack = self.running();
        let (listener, _) = stack::bind(stack.webhooks_addr, "webhooks")
            .await
            .expect("rebind webhooks");
        stack.webhooks = stack::start_webhooks(stack.webhooks_config.clone(), listener)
            .await
            .expect("restart webhooks");
    }

    /// What webhooks was started with (to run another copy as a process).
    pub fn webhooks_config(&mut self) -> clickclack_webhooks::WebhooksConfig {
        self.running().webhooks_config.clone()
    }

    /// Stops the gateway alone (a crash or redeploy): its port closes and
    /// every open connection, WebSockets included, is cut. The services and
    /// any replica keep running. See [`Self::start_gateway`].
    pub async fn stop_gateway(&mut self) {
        self.running().gateway.stop().await;
    }

    /// Starts the gateway again on the same port, so `http_url` stays valid.
    pub async fn start_gateway(&mut self) {
        let stack = self.running();
        let (listener, _) = stack::bind(stack.http_addr, "the gateway")
            .await
            .expect("rebind the gateway");
        stack.gateway = stack::start_gateway(stack.gateway_config.clone(), listener)
            .expect("restart the gateway");
    }

    /// [`Self::stop_gateway`] then [`Self::start_gateway`].
    pub async fn restart_gateway(&mut self) {
        self.stop_gateway().await;
        self.start_gateway().await;
    }

    pub async fn stop(mut self) {
        if let Some(stack) = self.stack.take() {
            stack.stop().await;
        }
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        // A test that ends without `stop()` still shuts its services down
        // before their database is dropped: a test process that exited with
        // services still talking to Postgres crashed (SIGSEGV after a
        // passing test). Tests run on the multi-threaded runtime, where
        // waiting here is allowed.
        if let Some(stack) = self.stack.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
            && handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
        {
            tokio::task::block_in_place(|| handle.block_on(stack.stop()));
        }
        let _ = std::fs::remove_dir_all(&self.upload_dir);
    }
}
