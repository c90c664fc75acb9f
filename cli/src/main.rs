//! `clickclack`: administer a deployment over gRPC (`admin ...`), run the
//! whole system in one process (`dev`), or run one service (`serve ...`).

mod admin;
mod dev;
mod output;

use clap::{Parser, Subcommand};
use clickclack_common::service::run;
use clickclack_identity::Identity;
use clickclack_messaging::Messaging;
use clickclack_realtime::Realtime;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "clickclack",
    version,
    about = "ClickClack: team chat where bots are first-class members"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Administer workspaces, users, members and bots (talks to identity over gRPC).
    Admin(admin::AdminArgs),
    /// Start the whole system in one process against a local Postgres.
    Dev(dev::DevArgs),
    /// Apply every service's pending database migrations, then exit (the
    /// compose one-shot and the Kubernetes Job). Services also migrate at
    /// start; this lets a deployment do it once, before rolling them out.
    Migrate(MigrateArgs),
    /// Run one service on its own (for docker-compose and Kubernetes).
    #[command(subcommand)]
    Serve(Serve),
}

#[derive(clap::Args)]
struct MigrateArgs {
    /// Postgres URL of the database every service keeps its schema in.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = clickclack_common::db::DEFAULT_DATABASE_URL
    )]
    database_url: String,
}

/// Runs identity's, messaging's, realtime's and webhooks' migrations, each in its own
/// schema (the pool runs them on connect).
async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || {
        use clickclack_common::db::connect;
        let url = &args.database_url;
        connect(
            url,
            clickclack_realtime::SCHEMA,
            clickclack_realtime::MIGRATIONS,
            1,
        )?;
        connect(
            url,
            clickclack_identity::SCHEMA,
            clickclack_identity::MIGRATIONS,
            1,
        )?;
        connect(
            url,
            clickclack_messaging::SCHEMA,
            clickclack_messaging::MIGRATIONS,
            1,
        )?;
        connect(
            url,
            clickclack_webhooks::SCHEMA,
            clickclack_webhooks::MIGRATIONS,
            1,
        )?;
        println!("migrated identity, messaging, realtime and webhooks");
        Ok(())
    })
    .await?
}

#[derive(Subcommand)]
enum Serve {
    /// The identity gRPC service.
    Identity(clickclack_identity::IdentityConfig),
    /// The messaging gRPC service.
    Messaging(clickclack_messaging::MessagingConfig),
    /// The realtime gRPC service.
    Realtime(clickclack_realtime::RealtimeConfig),
    /// The webhooks gRPC service (event subscriptions and their deliveries).
    Webhooks(clickclack_webhooks::WebhooksConfig),
    /// The HTTP gateway.
    Gateway(clickclack_gateway::GatewayConfig),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Admin(args) => admin::run(args).await,
        Command::Dev(args) => dev::run(args).await,
        Command::Migrate(args) => migrate(args).await,
        Command::Serve(service) => {
            let _telemetry = clickclack_common::telemetry::init(match &service {
                Serve::Identity(_) => "clickclack-identity",
                Serve::Messaging(_) => "clickclack-messaging",
                Serve::Realtime(_) => "clickclack-realtime",
                Serve::Webhooks(_) => "clickclack-webhooks",
                Serve::Gateway(_) => "clickclack-gateway",
            });
            let shutdown = clickclack_common::shutdown::on_signal();
            match service {
                Serve::Identity(config) => {
                    run::<Identity>(config, shutdown).await.map_err(Into::into)
                }
                Serve::Messaging(config) => {
                    run::<Messaging>(config, shutdown).await.map_err(Into::into)
                }
                Serve::Realtime(config) => {
                    run::<Realtime>(config, shutdown).await.map_err(Into::into)
                }
                Serve::Webhooks(config) => run::<clickclack_webhooks::Webhooks>(config, shutdown)
                    .await
                    .map_err(Into::into),
                Serve::Gateway(config) => clickclack_gateway::run(config, shutdown)
                    .await
                    .map_err(Into::into),
            }
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line a person can act on.
            eprintln!("error: {}", output::one_line(&error));
            ExitCode::FAILURE
        }
    }
}
