//! `clickclack dev`: the whole system in one process on the default ports,
//! against a local Postgres, with a `default` workspace ready to use.

use clap::Args;
use clickclack_cli::stack::{RunningStack, StackConfig};
use clickclack_common::assertion::{DEV_INTERNAL_KEY, DEV_OPERATOR_KEY};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args)]
pub struct DevArgs {
    /// Postgres URL; the database is created when missing.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = clickclack_common::db::DEFAULT_DATABASE_URL
    )]
    database_url: String,
    /// Gateway HTTP address.
    #[arg(long, default_value = clickclack_gateway::DEFAULT_HTTP_ADDR)]
    http_addr: SocketAddr,
    /// Identity gRPC address.
    #[arg(long, default_value = clickclack_identity::DEFAULT_LISTEN)]
    identity_addr: SocketAddr,
    /// Messaging gRPC address.
    #[arg(long, default_value = clickclack_messaging::DEFAULT_LISTEN)]
    messaging_addr: SocketAddr,
    /// Realtime gRPC address.
    #[arg(long, default_value = clickclack_realtime::DEFAULT_LISTEN)]
    realtime_addr: SocketAddr,
    /// Webhooks gRPC address.
    #[arg(long, default_value = clickclack_webhooks::DEFAULT_LISTEN)]
    webhooks_addr: SocketAddr,
    /// Refuse webhook deliveries to private and loopback addresses, as a
    /// production deployment does (the dev stack allows them, so a
    /// receiver on this machine works).
    #[arg(long, env = "CLICKCLACK_WEBHOOKS_PUBLIC_ONLY")]
    webhooks_public_only: bool,
    /// Live event subscriptions a workspace may hold at once.
    #[arg(long, env = "CLICKCLACK_WEBHOOKS_MAX_PER_WORKSPACE", default_value_t = clickclack_webhooks::api::MAX_LIVE_PER_WORKSPACE)]
    webhooks_max_per_workspace: i64,
    /// Where uploaded files are stored.
    #[arg(long, env = "CLICKCLACK_UPLOAD_DIR", default_value = ".data/uploads")]
    upload_dir: PathBuf,
    /// Prometheus metrics of every service in this process (`GET /metrics`).
    #[arg(
        long,
        env = "CLICKCLACK_METRICS_ADDR",
        default_value = "127.0.0.1:9100"
    )]
    metrics_addr: SocketAddr,
    /// Shared secret that signs principal assertions.
    #[arg(long, env = "CLICKCLACK_INTERNAL_KEY", default_value = DEV_INTERNAL_KEY, hide_default_value = true)]
    internal_key: String,
    #[command(flatten)]
    db_pools: clickclack_cli::stack::DbPools,
    #[command(flatten)]
    limits: clickclack_gateway::limits::LimitsConfig,
    #[command(flatten)]
    mail: clickclack_gateway::mail::MailConfig,
    /// The operator credential `clickclack admin` signs with.
    #[arg(long, env = "CLICKCLACK_OPERATOR_KEY", default_value = DEV_OPERATOR_KEY, hide_default_value = true)]
    operator_key: String,
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    let _telemetry = clickclack_common::telemetry::init("clickclack");
    let shutdown = clickclack_common::shutdown::on_signal();
    let stack = RunningStack::start(
        StackConfig {
            database_url: args.database_url.clone(),
            identity_listen: args.identity_addr,
            messaging_listen: args.messaging_addr,
            realtime_listen: args.realtime_addr,
            webhooks_listen: args.webhooks_addr,
            webhooks: clickclack_cli::stack::WebhookSettings {
                allow_private_networks: !args.webhooks_public_only,
                max_per_workspace: args.webhooks_max_per_workspace,
                ..Default::default()
            },
            http_addr: args.http_addr,
            upload_dir: args.upload_dir.clone(),
            upload_max_bytes: clickclack_messaging::DEFAULT_UPLOAD_MAX_BYTES,
            internal_key: args.internal_key.clone(),
            operator_key: args.operator_key.clone(),
            auth_cache_ms: 30_000,
            db_pools: args.db_pools,
            limits: args.limits.clone(),
            // A developer without SMTP gets sign-in links on this machine.
            mail: clickclack_gateway::mail::MailConfig {
                dev_links: true,
                ..args.mail.clone()
            },
        },
        shutdown.clone(),
    )
    .await?;
    clickclack_common::metrics::spawn_server(Some(args.metrics_addr), Vec::new(), shutdown);
    let created = stack.bootstrap_if_empty().await?;

    println!();
    println!("ClickClack dev stack is running");
    println!("  gateway   {}", stack.http_url());
    println!("  identity  {} (gRPC)", stack.identity_url());
    println!("  messaging {} (gRPC)", stack.messaging_url());
    println!("  realtime  {} (gRPC)", stack.realtime_url());
    println!("  webhooks  {} (gRPC)", stack.webhooks_url());
    println!("  uploads   {}", args.upload_dir.display());
    println!("  database  {}", without_password(&args.database_url));
    if let Some(created) = created {
        let workspace = created.workspace.unwrap_or_default();
        let owner = created.owner.unwrap_or_default();
        println!();
        println!(
            "Bootstrapped workspace {} ({}) with #general, owned by {} <{}>",
            workspace.slug,
            workspace.id,
            owner.id,
            owner.email.unwrap_or_default()
        );
    }
    println!();
    match stack.owner_sign_in_link().await {
        Ok(link) => {
            println!("Open the web app as the dev owner (link works once, 15 minutes):\n  {link}")
        }
        Err(error) => println!("(no sign-in link for the dev owner: {error})"),
    }
    println!();
    println!("Create a bot and try its token:");
    println!(
        "  TOKEN=$(cargo run -q -p clickclack-cli -- admin bot create --workspace {} \\",
        clickclack_cli::stack::DEFAULT_WORKSPACE_SLUG
    );
    println!(
        "      --name \"My Bot\" --handle my-bot --scopes bot:write --token-name local --plain)"
    );
    println!(
        "  curl -H \"Authorization: Bearer $TOKEN\" {}/api/me",
        stack.http_url()
    );
    println!();
    println!("Press Ctrl-C to stop.");
    stack.wait().await
}

/// The URL with any password blanked, for printing.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(unparseable url)".into(),
    }
}
