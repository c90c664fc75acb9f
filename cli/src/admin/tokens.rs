//! `clickclack admin bot token ...`: mint, list, revoke and rotate.

use super::bots::resolve_bot;
use super::{Admin, RpcResult, parse_duration};
use anyhow::{Context, anyhow};
use clap::Subcommand;
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use serde_json::json;
use std::time::Duration;

#[derive(Subcommand)]
pub(super) enum TokenCommand {
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

pub(super) async fn run(admin: &mut Admin, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            bot,
            workspace,
            name,
            scopes,
            created_by,
            plain,
        } => {
            let bot = resolve_bot(&mut admin.identity, &workspace, &bot).await?;
            let created = admin
                .identity
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
            admin.out.show_secret(
                plain,
                &created.token,
                || {
                    json!({
                        "token": created.token,
                        "bot_token": wire::BotToken::from(bot_token.clone()),
                    })
                },
                || {
                    println!(
                        "Minted token {} \"{}\" for {}",
                        bot_token.id, bot_token.name, bot_token.bot_user_id
                    );
                    println!("  scopes  {}", bot_token.scopes.join(" "));
                    print_raw_token("Token", &created.token);
                },
            )
        }
        TokenCommand::List { bot, workspace } => {
            let bot = resolve_bot(&mut admin.identity, &workspace, &bot).await?;
            let list = admin
                .identity
                .list_bot_tokens(pb::ListBotTokensRequest {
                    workspace,
                    bot_user_id: bot,
                    actor_user_id: None,
                })
                .await
                .rpc()?;
            admin.out.list(
                || {
                    let tokens: Vec<wire::BotToken> =
                        list.bot_tokens.iter().cloned().map(Into::into).collect();
                    json!({ "bot_tokens": tokens })
                },
                &["TOKEN", "NAME", "CREATED", "LAST USED", "REVOKED", "SCOPES"],
                || {
                    list.bot_tokens
                        .iter()
                        .cloned()
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
                        .collect()
                },
            )
        }
        TokenCommand::Revoke { token_id } => {
            let token = admin
                .identity
                .revoke_bot_token(pb::RevokeBotTokenRequest {
                    token_id,
                    actor_user_id: None,
                    workspace: String::new(),
                })
                .await
                .rpc()?;
            admin.out.show(
                || json!({ "bot_token": wire::BotToken::from(token.clone()) }),
                || {
                    println!(
                        "Revoked token {} \"{}\" of {} at {}",
                        token.id,
                        token.name,
                        token.bot_user_id,
                        token.revoked_at.as_deref().unwrap_or_default()
                    )
                },
            )
        }
        TokenCommand::Rotate {
            token_id,
            grace,
            plain,
        } => {
            let rotated = admin
                .identity
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
            admin.out.show_secret(
                plain,
                &rotated.token,
                || {
                    json!({
                        "token": rotated.token,
                        "bot_token": wire::BotToken::from(new_token.clone()),
                        "replaced": wire::BotToken::from(old_token.clone()),
                    })
                },
                || {
                    println!(
                        "Rotated \"{}\" of {}: new token {}",
                        new_token.name, new_token.bot_user_id, new_token.id
                    );
                    println!(
                        "  old token {} stops working at {}",
                        old_token.id,
                        old_token.revoked_at.as_deref().unwrap_or_default()
                    );
                    println!(
                        "  watch `clickclack admin bot token list --bot {}` (LAST USED) to see when runtimes have switched",
                        new_token.bot_user_id
                    );
                    print_raw_token("New token", &rotated.token);
                },
            )
        }
    }
}

/// The raw token after a blank line, with the one warning people need.
pub(super) fn print_raw_token(what: &str, token: &str) {
    println!();
    println!("{what} (shown only this once; store it in the runtime's secret store now):");
    println!("{token}");
}
