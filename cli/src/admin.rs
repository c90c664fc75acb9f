//! `clickclack admin ...`: operator commands, sent to identity over gRPC.
//!
//! Every command prints a short summary for people, or with `--json` one
//! JSON document for scripts. Failures print one line and exit non-zero.

use crate::output;
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use clickclack_common::assertion::{AssertionKey, Claims};
use clickclack_common::grpc::{Peer, traced_as};
use clickclack_common::ids;
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use serde::Serialize;
use serde_json::json;
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
    Bootstrap(BootstrapArgs),
    /// Create and list workspaces.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Create and list human users.
    #[command(subcommand)]
    User(UserCommand),
    /// Add, remove and list workspace members.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Create bots and manage their tokens.
    #[command(subcommand)]
    Bot(BotCommand),
    /// Issue one-time sign-in links for humans.
    #[command(subcommand, name = "magic-link")]
    MagicLink(MagicLinkCommand),
    /// Read the audit log of bot, token and membership changes.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum MagicLinkCommand {
    /// Issue a link for a human (created when the email is new); exchange
    /// it with `POST /api/auth/magic/consume {token}` for a session.
    Create {
        /// The human's email; a user is created when it is new.
        #[arg(long)]
        email: String,
        /// Display name for a new user; defaults to the email's local part.
        #[arg(long, default_value = "")]
        name: String,
        /// How long the link works, e.g. 15m, 2h (default 15m, at most 7d).
        #[arg(long, value_parser = parse_duration)]
        ttl: Option<Duration>,
        /// Print only the raw mgt_ token and a newline.
        #[arg(long, conflicts_with = "json")]
        plain: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// A workspace's entries, newest first.
    List {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Args)]
struct BootstrapArgs {
    /// The owner's display name.
    #[arg(long)]
    name: String,
    /// The owner's email.
    #[arg(long)]
    email: String,
    /// The new workspace's name.
    #[arg(long, default_value = "Default")]
    workspace_name: String,
    /// The new workspace's slug; defaults to one made from the workspace name.
    #[arg(long, default_value = "")]
    workspace_slug: String,
}

#[derive(Subcommand)]
enum WorkspaceCommand {
    /// Create an empty workspace (`bootstrap` also creates its owner).
    Create {
        /// The workspace's name.
        #[arg(long)]
        name: String,
        /// URL-friendly name; defaults to one made from the name.
        #[arg(long, default_value = "")]
        slug: String,
    },
    /// List every workspace.
    List,
    /// Rename a workspace (members see workspace.updated).
    Update {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// The new name.
        #[arg(long)]
        name: Option<String>,
        /// The new icon URL.
        #[arg(long)]
        icon_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a human user (add them to a workspace with `member add`).
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Email address, unique across the deployment.
        #[arg(long)]
        email: String,
        /// Defaults to the email's local part.
        #[arg(long, default_value = "")]
        handle: String,
    },
    /// List every user, humans and bots.
    List,
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Add a user to a workspace with a role.
    Add {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// User id (usr_...).
        #[arg(long)]
        user: String,
        /// owner, moderator, member or guest.
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// Remove a user from a workspace.
    Remove {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// User id (usr_...).
        #[arg(long)]
        user: String,
    },
    /// List a workspace's members, humans and bots.
    List {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
    },
}

#[derive(Subcommand)]
enum BotCommand {
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
    Token(TokenCommand),
    /// One-time setup codes a runtime trades for a token (no token pasting).
    #[command(subcommand, name = "setup-code")]
    SetupCode(SetupCodeCommand),
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
struct BotCreateArgs {
    /// Workspace id (wsp_...) or slug.
    #[arg(long)]
    workspace: String,
    /// A human member who owns the bot; omit for a service bot.
    #[arg(long)]
    owner: Option<String>,
    /// Who is creating it: must be the owner for a user-owned bot, or a
    /// workspace owner/moderator for a service bot.
    #[arg(long)]
    created_by: Option<String>,
    /// Display name.
    #[arg(long)]
    name: String,
    /// The bot's @handle, unique in the workspace; defaults to one made from
    /// the name.
    #[arg(long, default_value = "")]
    handle: String,
    /// URL of the bot's avatar image.
    #[arg(long, default_value = "")]
    avatar_url: String,
    /// bot:read, bot:write, bot:admin, or comma-separated concrete scopes.
    #[arg(long, default_value = "bot:write")]
    scopes: String,
    /// A label for the runtime that will hold the token.
    #[arg(long, default_value = "default")]
    token_name: String,
    /// Print only the raw token and a newline.
    #[arg(long, conflicts_with = "json")]
    plain: bool,
}

#[derive(Subcommand)]
enum SetupCodeCommand {
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
        /// Print only the code and a newline.
        #[arg(long, conflicts_with = "json")]
        plain: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Mint another token for a bot.
    Create {
        /// The bot: its user id (usr_...) or its handle (name or @name).
        #[arg(long)]
        bot: String,
        /// Workspace id (wsp_...) or slug; defaults to the bot's own.
        #[arg(long, default_value = "")]
        workspace: String,
        /// A label for the runtime that will hold the token.
        #[arg(long, visible_alias = "token-name", default_value = "default")]
        name: String,
        /// bot:read, bot:write, bot:admin, or comma-separated concrete scopes.
        #[arg(long, default_value = "bot:write")]
        scopes: String,
        /// Who is minting it (usr_...): the owner for a user-owned bot, or a
        /// workspace owner/moderator for a service bot; omit to act as the
        /// operator.
        #[arg(long)]
        created_by: Option<String>,
        /// Print only the raw token and a newline.
        #[arg(long, conflicts_with = "json")]
        plain: bool,
    },
    /// List a bot's tokens (metadata only), newest first.
    List {
        /// The bot: its user id (usr_...) or its handle (name or @name).
        #[arg(long)]
        bot: String,
        /// Workspace id (wsp_...) or slug; defaults to the bot's own.
        #[arg(long, default_value = "")]
        workspace: String,
    },
    /// Revoke a token; it stops working at once.
    Revoke {
        /// The token's id (btok_...), from `bot token list`.
        #[arg(long)]
        token_id: String,
    },
    /// Mint a token with the same name and scopes; the old one keeps working
    /// for the grace period, then is revoked.
    Rotate {
        /// The token's id (btok_...), from `bot token list`.
        #[arg(long)]
        token_id: String,
        /// How long the old token keeps working, e.g. 10m (default 0: now).
        #[arg(long, value_parser = parse_duration, default_value = "0")]
        grace: Duration,
        /// Print only the new raw token and a newline.
        #[arg(long, conflicts_with = "json")]
        plain: bool,
    },
}

/// `90`, `90s`, `10m`, `2h` or `7d`.
fn parse_duration(raw: &str) -> Result<Duration, String> {
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

/// A user as operators see it: the public shape plus the email.
#[derive(Serialize)]
struct AdminUser {
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

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.data {
        eprintln!(
            "note: --data {} is ignored: this deployment stores its data in Postgres and is reached over gRPC at {}",
            dir.display(),
            args.identity_addr
        );
    }
    let mut identity = connect(&args.identity_addr, &args.operator_key).await?;
    let as_json = args.json;
    match args.command {
        AdminCommand::Bootstrap(a) => {
            let created = identity
                .bootstrap(pb::BootstrapRequest {
                    owner_display_name: a.name,
                    owner_email: a.email,
                    workspace_name: a.workspace_name,
                    workspace_slug: a.workspace_slug,
                })
                .await
                .rpc()?;
            let workspace = created
                .workspace
                .context("identity returned no workspace")?;
            let owner = created.owner.context("identity returned no owner")?;
            let general = clickclack_stack::ensure_general_channel(
                &args.messaging_addr,
                &args.operator_key,
                &workspace.id,
                &owner.id,
            )
            .await
            .with_context(|| {
                format!(
                    "workspace {} was created, but its general channel was not",
                    workspace.id
                )
            })?;
            if as_json {
                output::json(&json!({
                    "workspace": wire::Workspace::from(workspace),
                    "owner": AdminUser::from(owner),
                    "channel": general,
                }))
            } else {
                println!(
                    "workspace  {}  {} ({})",
                    workspace.id, workspace.name, workspace.slug
                );
                println!(
                    "owner      {}  {} <{}>",
                    owner.id,
                    owner.display_name,
                    owner.email.unwrap_or_default()
                );
                println!("channel    {}  #{}", general.id, general.name);
                Ok(())
            }
        }
        AdminCommand::Workspace(WorkspaceCommand::Create { name, slug }) => {
            let workspace = identity
                .create_workspace(pb::CreateWorkspaceRequest { name, slug })
                .await
                .rpc()?;
            if as_json {
                output::json(&json!({ "workspace": wire::Workspace::from(workspace) }))
            } else {
                println!(
                    "workspace  {}  {} ({})",
                    workspace.id, workspace.name, workspace.slug
                );
                Ok(())
            }
        }
        AdminCommand::Workspace(WorkspaceCommand::Update {
            workspace,
            name,
            icon_url,
        }) => {
            let workspace = identity
                .update_workspace(pb::UpdateWorkspaceRequest {
                    workspace,
                    name,
                    icon_url,
                    slug: None,
                })
                .await
                .rpc()?;
            if as_json {
                output::json(&json!({ "workspace": wire::Workspace::from(workspace) }))
            } else {
                println!(
                    "workspace  {}  {} ({})",
                    workspace.id, workspace.name, workspace.slug
                );
                Ok(())
            }
        }
        AdminCommand::Workspace(WorkspaceCommand::List) => {
            let list = identity
                .list_workspaces(pb::ListWorkspacesRequest {
                    member_user_id: None,
                })
                .await
                .rpc()?;
            if as_json {
                let workspaces: Vec<wire::Workspace> =
                    list.workspaces.into_iter().map(Into::into).collect();
                output::json(&json!({ "workspaces": workspaces }))
            } else {
                output::table(
                    &["ID", "SLUG", "NAME", "CREATED"],
                    list.workspaces
                        .into_iter()
                        .map(|w| vec![w.id, w.slug, w.name, w.created_at])
                        .collect(),
                );
                Ok(())
            }
        }
        AdminCommand::User(UserCommand::Create {
            name,
            email,
            handle,
        }) => {
            let user = identity
                .create_user(pb::CreateUserRequest {
                    display_name: name,
                    email,
                    handle,
                })
                .await
                .rpc()?;
            if as_json {
                output::json(&json!({ "user": AdminUser::from(user) }))
            } else {
                println!(
                    "user  {}  {} @{} <{}>",
                    user.id,
                    user.display_name,
                    user.handle,
                    user.email.unwrap_or_default()
                );
                Ok(())
            }
        }
        AdminCommand::User(UserCommand::List) => {
            let list = identity.list_users(pb::ListUsersRequest {}).await.rpc()?;
            if as_json {
                let users: Vec<AdminUser> = list.users.into_iter().map(Into::into).collect();
                output::json(&json!({ "users": users }))
            } else {
                output::table(
                    &["ID", "KIND", "HANDLE", "NAME", "EMAIL", "OWNER"],
                    list.users
                        .into_iter()
                        .map(|u| {
                            vec![
                                u.id,
                                u.kind,
                                format!("@{}", u.handle),
                                u.display_name,
                                u.email.unwrap_or_default(),
                                u.owner_user_id.unwrap_or_default(),
                            ]
                        })
                        .collect(),
                );
                Ok(())
            }
        }
        AdminCommand::Member(MemberCommand::Add {
            workspace,
            user,
            role,
        }) => {
            let member = identity
                .add_member(pb::AddMemberRequest {
                    workspace,
                    user_id: user,
                    role,
                })
                .await
                .rpc()?;
            print_member(as_json, "member", member, "is now a")
        }
        AdminCommand::Member(MemberCommand::Remove { workspace, user }) => {
            let removed = identity
                .remove_member(pb::RemoveMemberRequest {
                    workspace,
                    user_id: user,
                })
                .await
                .rpc()?
                .removed
                .context("identity returned no member")?;
            print_member(as_json, "removed", removed, "was removed; they were a")
        }
        AdminCommand::Member(MemberCommand::List { workspace }) => {
            let list = identity
                .list_members(pb::ListMembersRequest { workspace })
                .await
                .rpc()?;
            if as_json {
                let members: Vec<wire::Member> = list.members.into_iter().map(Into::into).collect();
                output::json(&json!({ "members": members }))
            } else {
                output::table(
                    &["USER", "KIND", "ROLE", "HANDLE", "NAME", "JOINED"],
                    list.members
                        .into_iter()
                        .map(|m| {
                            let user = m.user.unwrap_or_default();
                            vec![
                                user.id,
                                user.kind,
                                m.role,
                                format!("@{}", user.handle),
                                user.display_name,
                                m.joined_at,
                            ]
                        })
                        .collect(),
                );
                Ok(())
            }
        }
        AdminCommand::Bot(BotCommand::Create(a)) => {
            let created = identity
                .create_bot(pb::CreateBotRequest {
                    workspace: a.workspace,
                    display_name: a.name,
                    handle: a.handle,
                    owner_user_id: a.owner,
                    created_by: a.created_by,
                    scopes: vec![a.scopes],
                    token_name: a.token_name,
                    avatar_url: a.avatar_url,
                })
                .await
                .rpc()?;
            let bot = created.bot.context("identity returned no bot")?;
            let bot_token = created.bot_token.context("identity returned no token")?;
            if a.plain {
                println!("{}", created.token);
                Ok(())
            } else if as_json {
                output::json(&json!({
                    "bot": wire::User::from(bot),
                    "token": created.token,
                    "bot_token": wire::BotToken::from(bot_token),
                }))
            } else {
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
                println!();
                println!(
                    "Token (shown only this once; store it in the runtime's secret store now):"
                );
                println!("{}", created.token);
                Ok(())
            }
        }
        AdminCommand::Bot(BotCommand::List { workspace }) => {
            let list = identity
                .list_bots(pb::ListBotsRequest {
                    workspace,
                    actor_user_id: None,
                })
                .await
                .rpc()?;
            if as_json {
                let bots: Vec<_> = list
                    .bots
                    .into_iter()
                    .map(|b| {
                        json!({
                            "bot": b.bot.map(wire::User::from),
                            "tokens": b.tokens.into_iter().map(wire::BotToken::from).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                output::json(&json!({ "bots": bots }))
            } else {
                output::table(
                    &["BOT", "HANDLE", "NAME", "OWNER", "ACTIVE TOKENS"],
                    list.bots
                        .into_iter()
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
                        .collect(),
                );
                Ok(())
            }
        }
        AdminCommand::Bot(BotCommand::Token(TokenCommand::Create {
            bot,
            workspace,
            name,
            scopes,
            created_by,
            plain,
        })) => {
            let bot = resolve_bot(&mut identity, &workspace, &bot).await?;
            let created = identity
                .create_bot_token(pb::CreateBotTokenRequest {
                    workspace,
                    bot_user_id: bot,
                    name,
                    scopes: vec![scopes],
                    created_by,
                })
                .await
                .rpc()?;
            let bot_token = created.bot_token.context("identity returned no token")?;
            if plain {
                println!("{}", created.token);
                Ok(())
            } else if as_json {
                output::json(&json!({
                    "token": created.token,
                    "bot_token": wire::BotToken::from(bot_token),
                }))
            } else {
                println!(
                    "Minted token {} \"{}\" for {}",
                    bot_token.id, bot_token.name, bot_token.bot_user_id
                );
                println!("  scopes  {}", bot_token.scopes.join(" "));
                println!();
                println!(
                    "Token (shown only this once; store it in the runtime's secret store now):"
                );
                println!("{}", created.token);
                Ok(())
            }
        }
        AdminCommand::Bot(BotCommand::SetupCode(SetupCodeCommand::Create {
            workspace,
            bot,
            scopes,
            token_name,
            created_by,
            plain,
        })) => {
            let bot = resolve_bot(&mut identity, &workspace, &bot).await?;
            let created = identity
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
            if plain {
                println!("{}", created.code);
                Ok(())
            } else if as_json {
                output::json(&json!({
                    "code": created.code,
                    "id": setup_code.id,
                    "bot_user_id": setup_code.bot_user_id,
                    "workspace_id": setup_code.workspace_id,
                    "token_name": setup_code.token_name,
                    "scopes": setup_code.scopes,
                    "expires_at": setup_code.expires_at,
                }))
            } else {
                println!(
                    "Setup code {} for {} (token \"{}\")",
                    setup_code.id, setup_code.bot_user_id, setup_code.token_name
                );
                println!("  scopes   {}", setup_code.scopes.join(" "));
                println!("  expires  {} (usable once)", setup_code.expires_at);
                println!();
                println!("{}", created.code);
                Ok(())
            }
        }
        AdminCommand::Bot(BotCommand::Token(TokenCommand::List { bot, workspace })) => {
            let bot = resolve_bot(&mut identity, &workspace, &bot).await?;
            let list = identity
                .list_bot_tokens(pb::ListBotTokensRequest {
                    workspace,
                    bot_user_id: bot,
                    actor_user_id: None,
                })
                .await
                .rpc()?;
            if as_json {
                let tokens: Vec<wire::BotToken> =
                    list.bot_tokens.into_iter().map(Into::into).collect();
                output::json(&json!({ "bot_tokens": tokens }))
            } else {
                output::table(
                    &["TOKEN", "NAME", "CREATED", "LAST USED", "REVOKED", "SCOPES"],
                    list.bot_tokens
                        .into_iter()
                        .map(|t| {
                            vec![
                                t.id,
                                t.name,
                                t.created_at,
                                t.last_used_at.unwrap_or_else(|| "never".into()),
                                t.revoked_at.unwrap_or_else(|| "-".into()),
                                t.scopes.join(","),
                            ]
                        })
                        .collect(),
                );
                Ok(())
            }
        }
        AdminCommand::Bot(BotCommand::Token(TokenCommand::Revoke { token_id })) => {
            let token = identity
                .revoke_bot_token(pb::RevokeBotTokenRequest {
                    token_id,
                    actor_user_id: None,
                    workspace: String::new(),
                })
                .await
                .rpc()?;
            if as_json {
                output::json(&json!({ "bot_token": wire::BotToken::from(token) }))
            } else {
                println!(
                    "Revoked token {} \"{}\" of {} at {}",
                    token.id,
                    token.name,
                    token.bot_user_id,
                    token.revoked_at.unwrap_or_default()
                );
                Ok(())
            }
        }
        AdminCommand::Bot(BotCommand::Token(TokenCommand::Rotate {
            token_id,
            grace,
            plain,
        })) => {
            let rotated = identity
                .rotate_bot_token(pb::RotateBotTokenRequest {
                    token_id,
                    grace_seconds: u32::try_from(grace.as_secs())
                        .map_err(|_| anyhow!("the grace period is too long"))?,
                    actor_user_id: None,
                    workspace: String::new(),
                })
                .await
                .rpc()?;
            let new_token = rotated.bot_token.context("identity returned no token")?;
            let old_token = rotated.replaced.context("identity returned no old token")?;
            if plain {
                println!("{}", rotated.token);
                Ok(())
            } else if as_json {
                output::json(&json!({
                    "token": rotated.token,
                    "bot_token": wire::BotToken::from(new_token),
                    "replaced": wire::BotToken::from(old_token),
                }))
            } else {
                println!(
                    "Rotated \"{}\" of {}: new token {}",
                    new_token.name, new_token.bot_user_id, new_token.id
                );
                println!(
                    "  old token {} stops working at {}",
                    old_token.id,
                    old_token.revoked_at.unwrap_or_default()
                );
                println!(
                    "  watch `clickclack admin bot token list --bot {}` (LAST USED) to see when runtimes have switched",
                    new_token.bot_user_id
                );
                println!();
                println!(
                    "New token (shown only this once; store it in the runtime's secret store now):"
                );
                println!("{}", rotated.token);
                Ok(())
            }
        }
        AdminCommand::Bot(BotCommand::Remove { workspace, bot }) => {
            let bot = resolve_bot(&mut identity, &workspace, &bot).await?;
            let removed = identity
                .remove_bot(pb::RemoveBotRequest {
                    workspace,
                    bot_user_id: bot,
                    actor_user_id: None,
                })
                .await
                .rpc()?;
            let bot = removed.bot.unwrap_or_default();
            if as_json {
                output::json(&json!({
                    "bot": wire::User::from(bot),
                    "revoked_tokens": removed.revoked_tokens,
                }))
            } else {
                println!(
                    "Removed {} (@{}); revoked {} token(s) and its command menu",
                    bot.id, bot.handle, removed.revoked_tokens
                );
                Ok(())
            }
        }
        AdminCommand::MagicLink(MagicLinkCommand::Create {
            email,
            name,
            ttl,
            plain,
        }) => {
            let ttl_seconds = match ttl {
                None => 0,
                Some(ttl) => u32::try_from(ttl.as_secs().max(1))
                    .map_err(|_| anyhow!("the link lifetime is too long"))?,
            };
            let link = identity
                .create_magic_link(pb::CreateMagicLinkRequest {
                    email,
                    display_name: name,
                    ttl_seconds,
                })
                .await
                .rpc()?;
            let user = link.user.unwrap_or_default();
            if plain {
                println!("{}", link.token);
                Ok(())
            } else if as_json {
                output::json(&json!({
                    "user": AdminUser::from(user),
                    "token": link.token,
                    "expires_at": link.expires_at,
                    "user_created": link.user_created,
                }))
            } else {
                let created = if link.user_created { " (new user)" } else { "" };
                println!(
                    "Sign-in link for {} <{}>{created}",
                    user.id,
                    user.email.unwrap_or_default()
                );
                println!("  expires {}; works once", link.expires_at);
                println!();
                println!("Exchange it for a session:");
                println!(
                    "  curl -X POST -H 'Content-Type: application/json' -d '{{\"token\":\"{}\"}}' $URL/api/auth/magic/consume",
                    link.token
                );
                Ok(())
            }
        }
        AdminCommand::Audit(AuditCommand::List { workspace, limit }) => {
            let list = identity
                .list_audit(pb::ListAuditRequest {
                    workspace,
                    actor_user_id: None,
                    limit,
                    before: String::new(),
                })
                .await
                .rpc()?;
            if as_json {
                let entries: Vec<wire::AuditEntry> =
                    list.entries.into_iter().map(Into::into).collect();
                output::json(&json!({ "entries": entries }))
            } else {
                output::table(
                    &["WHEN", "WHO", "ACTION", "TARGET", "DETAIL"],
                    list.entries
                        .into_iter()
                        .map(|e| {
                            vec![
                                e.created_at,
                                e.actor_user_id.unwrap_or_else(|| "operator".into()),
                                e.action,
                                e.target_id,
                                e.detail_json,
                            ]
                        })
                        .collect(),
                );
                Ok(())
            }
        }
    }
}

fn print_member(as_json: bool, key: &str, member: pb::Member, verb: &str) -> anyhow::Result<()> {
    if as_json {
        return output::json(&json!({ key: wire::Member::from(member) }));
    }
    let user = member.user.unwrap_or_default();
    println!(
        "{} (@{}) {verb} {} of {}",
        user.id, user.handle, member.role, member.workspace_id
    );
    Ok(())
}

/// The user id of the bot `--bot` names: a user id (`usr_...`) as given, or
/// a handle (`name` or `@name`) looked up among the bots of `workspace` (id
/// or slug), or of every workspace when none is named.
async fn resolve_bot(
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

/// A client whose every call is signed with the operator credential.
async fn connect(addr: &str, operator_key: &str) -> anyhow::Result<IdentityServiceClient<Peer>> {
    let key = AssertionKey::operator(operator_key)
        .context("CLICKCLACK_OPERATOR_KEY must be at least 32 bytes")?;
    let endpoint = Endpoint::from_shared(addr.to_owned())
        .with_context(|| format!("invalid --identity-addr {addr:?}"))?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(30));
    let channel = endpoint.connect().await.map_err(|_| {
        anyhow!("cannot reach the identity service at {addr} (is the stack running? `clickclack dev` starts one)")
    })?;
    Ok(IdentityServiceClient::new(traced_as(
        channel,
        key,
        Claims::deployment_operator,
    )))
}

/// Turns a gRPC status into the one line a person needs.
trait RpcResult<T> {
    fn rpc(self) -> anyhow::Result<T>;
}

impl<T> RpcResult<T> for Result<tonic::Response<T>, tonic::Status> {
    fn rpc(self) -> anyhow::Result<T> {
        self.map(tonic::Response::into_inner)
            .map_err(|status| match status.code() {
                tonic::Code::Unavailable => {
                    anyhow!("the identity service is unavailable: {}", status.message())
                }
                tonic::Code::Unauthenticated => anyhow!(
                    "identity refused the operator credential ({}): set CLICKCLACK_OPERATOR_KEY \
                     (or --operator-key) to the deployment's operator key",
                    status.message()
                ),
                _ => anyhow!("{}", status.message()),
            })
    }
}
