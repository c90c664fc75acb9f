//! `clickclack admin ...`: operator commands, sent to identity (and, for
//! webhooks, the webhooks service) over gRPC.
//!
//! One module per command group; each prints through [`Output`]: a short
//! summary for people, or with `--json` one JSON document for scripts.
//! Failures print one line and exit non-zero.

mod audit;
mod bots;
mod members;
mod tokens;
mod users;
mod webhooks;
mod workspaces;

use crate::output::Output;
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use clickclack_common::assertion::{AssertionKey, Claims};
use clickclack_common::grpc::{Peer, traced_as};
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use clickclack_proto::webhooks::webhooks_service_client::WebhooksServiceClient;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;
use tonic::transport::Endpoint;

#[derive(Args)]
pub struct AdminArgs {
    /// Identity service gRPC address.
    #[arg(long, global = true, env = "CLICKCLACK_IDENTITY_ADDR", default_value = clickclack_gateway::DEFAULT_IDENTITY_ADDR)]
    identity_addr: String,
    /// Messaging service gRPC address (bootstrap creates #general there).
    #[arg(long, global = true, env = "CLICKCLACK_MESSAGING_ADDR", default_value = clickclack_gateway::DEFAULT_MESSAGING_ADDR)]
    messaging_addr: String,
    /// Webhooks service gRPC address (`bot webhook ...`).
    #[arg(long, global = true, env = "CLICKCLACK_WEBHOOKS_ADDR", default_value = clickclack_gateway::DEFAULT_WEBHOOKS_ADDR)]
    webhooks_addr: String,
    /// The operator credential: the secret (32+ bytes) that signs every admin
    /// command. It must equal the services' CLICKCLACK_OPERATOR_KEY; the
    /// default works only against `clickclack dev`.
    #[arg(long, global = true, env = "CLICKCLACK_OPERATOR_KEY", default_value = clickclack_common::assertion::DEV_OPERATOR_KEY, hide_default_value = true)]
    operator_key: String,
    /// Accepted for compatibility with upstream's file-based CLI. This
    /// deployment keeps its data in Postgres, reached through identity.
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a workspace with a human owner and print their ids.
    Bootstrap(workspaces::BootstrapArgs),
    /// Create and list workspaces.
    #[command(subcommand)]
    Workspace(workspaces::WorkspaceCommand),
    /// Create and list human users.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Add, remove and list workspace members.
    #[command(subcommand)]
    Member(members::MemberCommand),
    /// Create bots and manage their tokens.
    #[command(subcommand)]
    Bot(bots::BotCommand),
    /// Issue one-time sign-in links for humans.
    #[command(subcommand, name = "magic-link")]
    MagicLink(users::MagicLinkCommand),
    /// Read the audit log of bot, token and membership changes.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

/// What every command has to work with.
struct Admin {
    identity: IdentityServiceClient<Peer>,
    out: Output,
    messaging_addr: String,
    webhooks_addr: String,
    operator_key: String,
}

impl Admin {
    /// The webhooks service, signed as the operator (connected on first use).
    async fn webhooks(&self) -> anyhow::Result<WebhooksServiceClient<Peer>> {
        let channel = endpoint(&self.webhooks_addr, "--webhooks-addr")?
            .connect()
            .await
            .map_err(|_| {
                anyhow!(
                    "cannot reach the webhooks service at {} (is the stack running? `clickclack dev` starts one)",
                    self.webhooks_addr
                )
            })?;
        Ok(WebhooksServiceClient::new(traced_as(
            channel,
            operator_key(&self.operator_key)?,
            Claims::deployment_operator,
        )))
    }
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.data {
        eprintln!(
            "note: --data {} is ignored: this deployment stores its data in Postgres and is reached over gRPC at {}",
            dir.display(),
            args.identity_addr
        );
    }
    let mut admin = Admin {
        identity: connect(&args.identity_addr, &args.operator_key).await?,
        out: Output { json: args.json },
        messaging_addr: args.messaging_addr,
        webhooks_addr: args.webhooks_addr,
        operator_key: args.operator_key,
    };
    match args.command {
        AdminCommand::Bootstrap(command) => workspaces::bootstrap(&mut admin, command).await,
        AdminCommand::Workspace(command) => workspaces::run(&mut admin, command).await,
        AdminCommand::User(command) => users::run(&mut admin, command).await,
        AdminCommand::MagicLink(command) => users::magic_link(&mut admin, command).await,
        AdminCommand::Member(command) => members::run(&mut admin, command).await,
        AdminCommand::Bot(command) => bots::run(&mut admin, command).await,
        AdminCommand::Audit(command) => audit::run(&mut admin, command).await,
    }
}

/// A user as operators see it: the public shape plus the email.
#[derive(Serialize)]
pub(super) struct AdminUser {
    #[serde(flatten)]
    user: wire::User,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

impl From<pb::User> for AdminUser {
    fn from(user: pb::User) -> Self {
        let email = user.email.clone();
        AdminUser {
            user: user.into(),
            email,
        }
    }
}

/// `90`, `90s`, `10m`, `2h` or `7d`.
pub(super) fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {raw:?} (use e.g. 30s, 10m, 2h)"))?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        "d" => number * 86_400,
        _ => {
            return Err(format!(
                "invalid duration unit in {raw:?} (use s, m, h or d)"
            ));
        }
    };
    Ok(Duration::from_secs(seconds))
}

/// A client whose every call is signed with the operator credential.
async fn connect(addr: &str, operator_key: &str) -> anyhow::Result<IdentityServiceClient<Peer>> {
    let key = self::operator_key(operator_key)?;
    let channel = endpoint(addr, "--identity-addr")?.connect().await.map_err(|_| {
        anyhow!("cannot reach the identity service at {addr} (is the stack running? `clickclack dev` starts one)")
    })?;
    Ok(IdentityServiceClient::new(traced_as(
        channel,
        key,
        Claims::deployment_operator,
    )))
}

fn operator_key(secret: &str) -> anyhow::Result<AssertionKey> {
    AssertionKey::operator(secret).context("CLICKCLACK_OPERATOR_KEY must be at least 32 bytes")
}

/// An admin call's endpoint: quick to give up connecting, bounded per call.
fn endpoint(addr: &str, flag: &str) -> anyhow::Result<Endpoint> {
    Ok(Endpoint::from_shared(addr.to_owned())
        .with_context(|| format!("invalid {flag} {addr:?}"))?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(30)))
}

/// Turns a gRPC status into the one line a person needs.
pub(super) trait RpcResult<T> {
    fn rpc(self) -> anyhow::Result<T>;
}

impl<T> RpcResult<T> for Result<tonic::Response<T>, tonic::Status> {
    fn rpc(self) -> anyhow::Result<T> {
        self.map(tonic::Response::into_inner)
            .map_err(|status| match status.code() {
                tonic::Code::Unavailable => {
                    anyhow!("the service is unavailable: {}", status.message())
                }
                tonic::Code::Unauthenticated => anyhow!(
                    "the service refused the operator credential ({}): set CLICKCLACK_OPERATOR_KEY \
                     (or --operator-key) to the deployment's operator key",
                    status.message()
                ),
                _ => anyhow!("{}", status.message()),
            })
    }
}
