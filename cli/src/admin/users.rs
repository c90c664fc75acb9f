//! `clickclack admin user ...` and `clickclack admin magic-link ...`.

use super::{Admin, AdminUser, RpcResult, parse_duration};
use anyhow::anyhow;
use clap::Subcommand;
use clickclack_proto::identity as pb;
use serde_json::json;
use std::time::Duration;

#[derive(Subcommand)]
pub(super) enum UserCommand {
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
pub(super) enum MagicLinkCommand {
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

pub(super) async fn run(admin: &mut Admin, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            name,
            email,
            handle,
        } => {
            let user = admin
                .identity
                .create_user(pb::CreateUserRequest {
                    display_name: name,
                    email,
                    handle,
                })
                .await
                .rpc()?;
            admin.out.show(
                || json!({ "user": AdminUser::from(user.clone()) }),
                || {
                    println!(
                        "user  {}  {} @{} <{}>",
                        user.id,
                        user.display_name,
                        user.handle,
                        user.email.as_deref().unwrap_or_default()
                    )
                },
            )
        }
        UserCommand::List => {
            let list = admin
                .identity
                .list_users(pb::ListUsersRequest {})
                .await
                .rpc()?;
            admin.out.list(
                || {
                    let users: Vec<AdminUser> =
                        list.users.iter().cloned().map(Into::into).collect();
                    json!({ "users": users })
                },
                &["ID", "KIND", "HANDLE", "NAME", "EMAIL", "OWNER"],
                || {
                    list.users
                        .iter()
                        .cloned()
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
                        .collect()
                },
            )
        }
    }
}

pub(super) async fn magic_link(admin: &mut Admin, command: MagicLinkCommand) -> anyhow::Result<()> {
    let MagicLinkCommand::Create {
        email,
        name,
        ttl,
        plain,
    } = command;
    let ttl_seconds = match ttl {
        None => 0,
        Some(ttl) => u32::try_from(ttl.as_secs().max(1))
            .map_err(|_| anyhow!("the link lifetime is too long"))?,
    };
    let link = admin
        .identity
        .create_magic_link(pb::CreateMagicLinkRequest {
            email,
            display_name: name,
            ttl_seconds,
        })
        .await
        .rpc()?;
    let user = link.user.clone().unwrap_or_default();
    admin.out.show_secret(
        plain,
        &link.token,
        || {
            json!({
                "user": AdminUser::from(user.clone()),
                "token": link.token,
                "expires_at": link.expires_at,
                "user_created": link.user_created,
            })
        },
        || {
            let created = if link.user_created { " (new user)" } else { "" };
            println!(
                "Sign-in link for {} <{}>{created}",
                user.id,
                user.email.as_deref().unwrap_or_default()
            );
            println!("  expires {}; works once", link.expires_at);
            println!();
            println!("Exchange it for a session:");
            println!(
                "  curl -X POST -H 'Content-Type: application/json' -d '{{\"token\":\"{}\"}}' $URL/api/auth/magic/consume",
                link.token
            );
        },
    )
}
