//! `clickclack admin bot ...` (create, list, remove, setup codes); tokens
//! are in [`super::tokens`].

use super::{Admin, RpcResult};
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use clickclack_common::grpc::Peer;
use clickclack_common::{ids, wire};
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use serde_json::json;

#[derive(Subcommand)]
pub(super) enum BotCommand {
    /// Create a bot user in a workspace with its first token.
    Create(BotCreateArgs),
    /// List a workspace's bots with their token metadata.
    List {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
    },
    /// Mint, list, rotate and revoke bot tokens.
    #[command(subcommand)]
    Token(super::tokens::TokenCommand),
    /// One-time setup codes a runtime trades for a token (no token pasting).
    #[command(subcommand, name = "setup-code")]
    SetupCode(SetupCodeCommand),
    /// Push a bot's events to a URL: event subscriptions and their
    /// delivery logs.
    #[command(subcommand)]
    Webhook(super::webhooks::WebhookCommand),
    /// Remove a bot from its workspace: its membership, tokens and command
    /// menu go at once.
    Remove {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// The bot: its user id (usr_...) or its handle (name or @name).
        #[arg(long)]
        bot: String,
    },
}

#[derive(Args)]
pub(super) struct BotCreateArgs {
    /// Workspace id (wsp_...) or slug.
    #[arg(long)]
    pub(super) workspace: String,
    /// A human member who owns the bot; omit for a service bot.
    #[arg(long)]
    pub(super) owner: Option<String>,
    /// Who is creating it: must be the owner for a user-owned bot, or a
    /// workspace owner/moderator for a service bot.
    #[arg(long)]
    pub(super) created_by: Option<String>,
    /// Display name.
    #[arg(long)]
    pub(super) name: String,
    /// The bot's @handle, unique in the workspace; defaults to one made from
    /// the name.
    #[arg(long, default_value = "")]
    pub(super) handle: String,
    /// URL of the bot's avatar image.
    #[arg(long, default_value = "")]
    pub(super) avatar_url: String,
    /// bot:read, bot:write, bot:admin, or comma-separated concrete scopes.
    #[arg(long, default_value = "bot:write")]
    pub(super) scopes: String,
    /// A label for the runtime that will hold the token.
    #[arg(long, default_value = "default")]
    pub(super) token_name: String,
    /// Print only the raw token and a newline.
    #[arg(long, conflicts_with = "json")]
    pub(super) plain: bool,
}

#[derive(Subcommand)]
pub(super) enum SetupCodeCommand {
    /// Mint a code (XXXX-XXXX-XXXX, valid 10 minutes, usable once); the
    /// runtime claims it at POST /api/bot-setup-codes/claim.
    Create {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// The bot: its user id (usr_...) or its handle (name or @name).
        #[arg(long)]
        bot: String,
        /// bot:read, bot:write, bot:admin, or comma-separated concrete scopes.
        #[arg(long, default_value = "bot:write")]
        scopes: String,
        /// A label for the runtime that will claim it (the token's name).
        #[arg(long, default_value = "setup-code")]
        token_name: String,
        /// Who is minting it (usr_...); omit to act as the operator.
        #[arg(long)]
        created_by: Option<String>,
        /// The server's public URL (as the gateway's CLICKCLACK_PUBLIC_URL):
        /// with it, the ready `openclaw channels add` commands are printed.
        #[arg(long, env = "CLICKCLACK_PUBLIC_URL")]
        public_url: Option<String>,
        /// Print only the code and a newline.
        #[arg(long, conflicts_with = "json")]
        plain: bool,
    },
}

pub(super) async fn run(admin: &mut Admin, command: BotCommand) -> anyhow::Result<()> {
    match command {
        BotCommand::Create(args) => create(admin, args).await,
        BotCommand::List { workspace } => list(admin, workspace).await,
        BotCommand::Token(command) => super::tokens::run(admin, command).await,
        BotCommand::SetupCode(command) => setup_code(admin, command).await,
        BotCommand::Webhook(command) => super::webhooks::run(admin, command).await,
        BotCommand::Remove { workspace, bot } => remove(admin, workspace, bot).await,
    }
}

async fn create(admin: &mut Admin, args: BotCreateArgs) -> anyhow::Result<()> {
    let created = admin
        .identity
        .create_bot(pb::CreateBotRequest {
            workspace: args.workspace,
            display_name: args.name,
            handle: args.handle,
            owner_user_id: args.owner,
            created_by: args.created_by,
            scopes: vec![args.scopes],
            token_name: args.token_name,
            avatar_url: args.avatar_url,
        })
        .await
        .rpc()?;
    let bot = created.bot.context("identity returned no bot")?;
    let bot_token = created.bot_token.context("identity returned no token")?;
    admin.out.show_secret(
        args.plain,
        &created.token,
        || {
            json!({
                "bot": wire::User::from(bot.clone()),
                "token": created.token,
                "bot_token": wire::BotToken::from(bot_token.clone()),
            })
        },
        || {
            let shape = match &bot.owner_user_id {
                Some(owner) => format!("user-owned bot of {owner}"),
                None => "service bot".to_owned(),
            };
            println!(
                "Created {shape} {} (@{}) {}",
                bot.display_name, bot.handle, bot.id
            );
            println!("  workspace  {}", bot_token.workspace_id);
            println!("  token      {} \"{}\"", bot_token.id, bot_token.name);
            println!("  scopes     {}", bot_token.scopes.join(" "));
            super::tokens::print_raw_token("Token", &created.token);
        },
    )
}

async fn list(admin: &mut Admin, workspace: String) -> anyhow::Result<()> {
    let list = admin
        .identity
        .list_bots(pb::ListBotsRequest {
            workspace,
            actor_user_id: None,
        })
        .await
        .rpc()?;
    admin.out.list(
        || {
            let bots: Vec<_> = list
                .bots
                .iter()
                .cloned()
                .map(|b| {
                    json!({
                        "bot": b.bot.map(wire::User::from),
                        "tokens": b.tokens.into_iter().map(wire::BotToken::from).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({ "bots": bots })
        },
        &["BOT", "HANDLE", "NAME", "OWNER", "ACTIVE TOKENS"],
        || {
            list.bots
                .iter()
                .cloned()
                .map(|b| {
                    let active = b.tokens.iter().filter(|t| t.revoked_at.is_none()).count();
                    let bot = b.bot.unwrap_or_default();
                    vec![
                        bot.id,
                        format!("@{}", bot.handle),
                        bot.display_name,
                        bot.owner_user_id.unwrap_or_else(|| "(service)".into()),
                        active.to_string(),
                    ]
                })
                .collect()
        },
    )
}

async fn setup_code(admin: &mut Admin, command: SetupCodeCommand) -> anyhow::Result<()> {
    let SetupCodeCommand::Create {
        workspace,
        bot,
        scopes,
        token_name,
        created_by,
        public_url,
        plain,
    } = command;
    let server = public_url
        .map(|url| url.trim().trim_end_matches('/').to_owned())
        .filter(|url| !url.is_empty());
    let bot = resolve_bot(&mut admin.identity, &workspace, &bot).await?;
    let created = admin
        .identity
        .create_setup_code(pb::CreateSetupCodeRequest {
            workspace,
            bot_user_id: bot,
            token_name,
            scopes: vec![scopes],
            defaults_json: String::new(),
            created_by,
        })
        .await
        .rpc()?;
    let setup_code = created
        .setup_code
        .context("identity returned no setup code")?;
    let commands = server
        .as_deref()
        .map(|server| openclaw_commands(server, &created.code));
    admin.out.show_secret(
        plain,
        &created.code,
        || {
            let mut shown = json!({
                "code": created.code,
                "id": setup_code.id,
                "bot_user_id": setup_code.bot_user_id,
                "workspace_id": setup_code.workspace_id,
                "token_name": setup_code.token_name,
                "scopes": setup_code.scopes,
                "expires_at": setup_code.expires_at,
            });
            if let (Some(server), Some(commands)) = (&server, &commands) {
                shown["api_base_url"] = json!(server);
                shown["setup_url"] = json!(commands.setup_url);
                shown["command"] = json!(commands.with_url);
            }
            shown
        },
        || {
            println!(
                "Setup code {} for {} (token \"{}\")",
                setup_code.id, setup_code.bot_user_id, setup_code.token_name
            );
            println!("  scopes   {}", setup_code.scopes.join(" "));
            println!("  expires  {} (usable once)", setup_code.expires_at);
            println!();
            println!("{}", created.code);
            match &commands {
                Some(commands) => {
                    println!();
                    println!("Run this where the runtime lives:");
                    println!("  {}", commands.with_url);
                    println!("or, naming the server separately:");
                    println!("  {}", commands.split);
                }
                None => {
                    println!();
                    println!(
                        "(pass --public-url or set CLICKCLACK_PUBLIC_URL to print the ready openclaw command)"
                    );
                }
            }
        },
    )
}

/// The two ways the OpenClaw extension takes a setup code: one setup URL
/// (`<server>/#CODE`), or the code with the server named by `--base-url`.
struct OpenClawCommands {
    setup_url: String,
    with_url: String,
    split: String,
}

fn openclaw_commands(server: &str, code: &str) -> OpenClawCommands {
    let setup_url = format!("{server}/#{code}");
    OpenClawCommands {
        with_url: format!("openclaw channels add clickclack --code '{setup_url}'"),
        split: format!("openclaw channels add clickclack --code {code} --base-url {server}"),
        setup_url,
    }
}

async fn remove(admin: &mut Admin, workspace: String, bot: String) -> anyhow::Result<()> {
    let bot = resolve_bot(&mut admin.identity, &workspace, &bot).await?;
    let removed = admin
        .identity
        .remove_bot(pb::RemoveBotRequest {
            workspace,
            bot_user_id: bot,
            actor_user_id: None,
        })
        .await
        .rpc()?;
    let bot = removed.bot.unwrap_or_default();
    admin.out.show(
        || {
            json!({
                "bot": wire::User::from(bot.clone()),
                "revoked_tokens": removed.revoked_tokens,
            })
        },
        || {
            println!(
                "Removed {} (@{}); revoked {} token(s) and its command menu",
                bot.id, bot.handle, removed.revoked_tokens
            )
        },
    )
}

/// The user id of the bot `--bot` names: a user id (`usr_...`) as given, or
/// a handle (`name` or `@name`) looked up among the bots of `workspace` (id
/// or slug), or of every workspace when none is named.
pub(super) async fn resolve_bot(
    identity: &mut IdentityServiceClient<Peer>,
    workspace: &str,
    bot: &str,
) -> anyhow::Result<String> {
    let bot = bot.trim();
    if !bot.starts_with('@') && ids::has_prefix(bot, ids::USER) {
        return Ok(bot.to_owned());
    }
    let handle = bot.strip_prefix('@').unwrap_or(bot).to_lowercase();
    if handle.is_empty() {
        return Err(anyhow!(
            "--bot needs a bot's user id (usr_...) or handle (@name)"
        ));
    }
    let workspace = workspace.trim();
    let workspaces = if workspace.is_empty() {
        identity
            .list_workspaces(pb::ListWorkspacesRequest {
                member_user_id: None,
            })
            .await
            .rpc()?
            .workspaces
            .into_iter()
            .map(|w| w.id)
            .collect()
    } else {
        vec![workspace.to_owned()]
    };
    let mut found = Vec::new();
    for key in workspaces {
        let list = identity
            .list_bots(pb::ListBotsRequest {
                workspace: key,
                actor_user_id: None,
            })
            .await
            .rpc()?;
        found.extend(
            list.bots
                .into_iter()
                .filter_map(|b| b.bot)
                .filter(|b| b.handle == handle)
                .map(|b| b.id),
        );
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 if workspace.is_empty() => Err(anyhow!("no bot has the handle @{handle}")),
        0 => Err(anyhow!(
            "no bot with the handle @{handle} in workspace {workspace}"
        )),
        n => Err(anyhow!(
            "{n} bots in different workspaces have the handle @{handle}: pass --workspace or the bot's user id"
        )),
    }
}
