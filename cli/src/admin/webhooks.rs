//! `clickclack admin bot webhook ...`: a bot's event subscriptions (signed
//! deliveries of its events to a URL), sent to the webhooks service over
//! gRPC as the operator.

use super::{Admin, RpcResult};
use anyhow::Context;
use clap::Subcommand;
use clickclack_common::grpc::Peer;
use clickclack_common::wire;
use clickclack_proto::identity as id_pb;
use clickclack_proto::webhooks as pb;
use clickclack_proto::webhooks::webhooks_service_client::WebhooksServiceClient;
use serde_json::json;

#[derive(Subcommand)]
pub(super) enum WebhookCommand {
    /// Push a bot's events to a URL; prints the signing secret once.
    Create {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// The bot: its user id (usr_...) or its handle (name or @name).
        #[arg(long)]
        bot: String,
        /// Where deliveries are POSTed (https; http only for loopback or an
        /// allowed host).
        #[arg(long)]
        url: String,
        /// Comma-separated durable event types, or `*` for all of them.
        #[arg(long, default_value = "*", value_delimiter = ',')]
        events: Vec<String>,
        /// Only these channels (comma-separated chn_... ids).
        #[arg(long, value_delimiter = ',')]
        channels: Vec<String>,
        /// Print only the signing secret and a newline.
        #[arg(long, conflicts_with = "json")]
        plain: bool,
    },
    /// A workspace's subscriptions with their queues.
    List {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// Only this bot's (user id or handle).
        #[arg(long)]
        bot: Option<String>,
        /// Revoked and disabled ones too.
        #[arg(long)]
        all: bool,
    },
    /// A new signing secret; the old one keeps signing for the overlap.
    #[command(name = "rotate-secret")]
    RotateSecret {
        /// The subscription (sub_...).
        #[arg(long)]
        id: String,
        /// How long the old secret keeps signing: 90s, 10m, 24h, 7d.
        #[arg(long, default_value = "24h", value_parser = super::parse_duration)]
        overlap: std::time::Duration,
        /// Print only the new secret and a newline.
        #[arg(long, conflicts_with = "json")]
        plain: bool,
    },
    /// Stop a subscription for good (what is queued is not sent).
    Disable {
        /// The subscription (sub_...).
        #[arg(long)]
        id: String,
    },
    /// The delivery log, newest first (kept 7 days).
    Deliveries {
        /// The subscription (sub_...).
        #[arg(long)]
        id: String,
        /// At most this many attempts (at most 200).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Deliver one event, or every event after a cursor, again.
    Redeliver {
        /// The subscription (sub_...).
        #[arg(long)]
        id: String,
        /// One event (evt_...).
        #[arg(long, conflicts_with = "after", required_unless_present = "after")]
        event: Option<String>,
        /// Every event queued after this cursor (cur_...).
        #[arg(long)]
        after: Option<String>,
    },
    /// Send a `webhook.test` event to the endpoint.
    Test {
        /// The subscription (sub_...).
        #[arg(long)]
        id: String,
    },
    /// Incoming webhooks: URLs that post into a channel as the bot.
    #[command(subcommand)]
    Incoming(IncomingCommand),
}

#[derive(Subcommand)]
pub(super) enum IncomingCommand {
    /// A URL that posts into a channel as the bot; prints its path once.
    Create {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
        /// The bot: its user id (usr_...) or its handle (name or @name).
        #[arg(long)]
        bot: String,
        /// The channel it posts into (chn_...).
        #[arg(long)]
        channel: String,
        /// A label, e.g. the system that will call it.
        #[arg(long)]
        name: String,
        /// Print only the path (`/api/hooks/ihk_.../cch_...`) and a newline.
        #[arg(long, conflicts_with = "json")]
        plain: bool,
    },
    /// A workspace's live incoming webhooks.
    List {
        /// Workspace id (wsp_...) or slug.
        #[arg(long)]
        workspace: String,
    },
    /// Revoke one: its URL is refused from now on.
    Revoke {
        /// The incoming webhook (ihk_...).
        #[arg(long)]
        id: String,
    },
}

async fn incoming(
    admin: &mut Admin,
    webhooks: &mut WebhooksServiceClient<Peer>,
    command: IncomingCommand,
) -> anyhow::Result<()> {
    match command {
        IncomingCommand::Create {
            workspace,
            bot,
            channel,
            name,
            plain,
        } => {
            let workspace_id = workspace_id(admin, &workspace).await?;
            let bot_user_id =
                super::bots::resolve_bot(&mut admin.identity, &workspace_id, &bot).await?;
            let created = webhooks
                .create_incoming_hook(pb::CreateIncomingHookRequest {
                    workspace_id,
                    channel_id: channel,
                    bot_user_id,
                    name,
                })
                .await
                .rpc()?;
            let hook = created.hook.context("webhooks returned no hook")?;
            let path = wire::incoming_hook_path(&hook.id, &created.secret);
            admin.out.show_secret(
                plain,
                &path,
                || json!({ "incoming_webhook": wire::incoming_hook(&hook), "path": path }),
                || {
                    println!(
                        "Incoming webhook {} posts into {} as {}",
                        hook.id, hook.channel_id, hook.bot_user_id
                    );
                    println!("POST {{\"text\": ...}} to this path on the gateway (shown once):");
                    println!("  {path}");
                },
            )
        }
        IncomingCommand::List { workspace } => {
            let workspace_id = workspace_id(admin, &workspace).await?;
            let list = webhooks
                .list_incoming_hooks(pb::ListIncomingHooksRequest {
                    workspace_id,
                    bot_user_id: None,
                })
                .await
                .rpc()?;
            admin.out.list(
                || json!({ "incoming_webhooks": list.hooks.iter().map(wire::incoming_hook).collect::<Vec<_>>() }),
                &["HOOK", "BOT", "CHANNEL", "NAME", "LAST USED"],
                || {
                    list.hooks
                        .iter()
                        .map(|hook| {
                            vec![
                                hook.id.clone(),
                                hook.bot_user_id.clone(),
                                hook.channel_id.clone(),
                                hook.name.clone(),
                                hook.last_used_at.clone().unwrap_or_else(|| "never".into()),
                            ]
                        })
                        .collect()
                },
            )
        }
        IncomingCommand::Revoke { id } => {
            let revoked = webhooks
                .revoke_incoming_hook(pb::IncomingHookRef { id })
                .await
                .rpc()?;
            admin.out.show(
                || json!({ "incoming_webhook": wire::incoming_hook(&revoked) }),
                || println!("Revoked {}; its URL is refused from now on", revoked.id),
            )
        }
    }
}

pub(super) async fn run(admin: &mut Admin, command: WebhookCommand) -> anyhow::Result<()> {
    let mut webhooks = admin.webhooks().await?;
    match command {
        WebhookCommand::Create {
            workspace,
            bot,
            url,
            events,
            channels,
            plain,
        } => {
            let workspace_id = workspace_id(admin, &workspace).await?;
            let bot_user_id =
                super::bots::resolve_bot(&mut admin.identity, &workspace_id, &bot).await?;
            let created = webhooks
                .create_subscription(pb::CreateSubscriptionRequest {
                    workspace_id,
                    bot_user_id,
                    callback_url: url,
                    event_types: events,
                    channel_ids: channels,
                })
                .await
                .rpc()?;
            show_with_secret(admin, plain, created)
        }
        WebhookCommand::List {
            workspace,
            bot,
            all,
        } => {
            let workspace_id = workspace_id(admin, &workspace).await?;
            let bot_user_id = match bot {
                Some(bot) => {
                    Some(super::bots::resolve_bot(&mut admin.identity, &workspace_id, &bot).await?)
                }
                None => None,
            };
            let list = webhooks
                .list_subscriptions(pb::ListSubscriptionsRequest {
                    workspace_id,
                    bot_user_id,
                    include_ended: all,
                })
                .await
                .rpc()?;
            let rendered: Vec<_> = list
                .subscriptions
                .iter()
                .cloned()
                .map(|s| wire::event_subscription(Some(s), None))
                .collect();
            admin.out.list(
                || json!({ "event_subscriptions": rendered }),
                &["SUBSCRIPTION", "BOT", "STATUS", "PENDING", "EVENTS", "URL"],
                || {
                    rendered
                        .iter()
                        .map(|s| {
                            let text = |key: &str| s[key].as_str().unwrap_or("-").to_owned();
                            vec![
                                text("id"),
                                text("bot_user_id"),
                                text("status"),
                                s["pending_deliveries"].to_string(),
                                s["event_types"]
                                    .as_array()
                                    .map(|types| {
                                        types
                                            .iter()
                                            .filter_map(|t| t.as_str())
                                            .collect::<Vec<_>>()
                                            .join(",")
                                    })
                                    .unwrap_or_default(),
                                text("callback_url"),
                            ]
                        })
                        .collect()
                },
            )
        }
        WebhookCommand::RotateSecret { id, overlap, plain } => {
            let rotated = webhooks
                .rotate_secret(pb::RotateSecretRequest {
                    id,
                    overlap_seconds: u32::try_from(overlap.as_secs()).unwrap_or(u32::MAX),
                })
                .await
                .rpc()?;
            show_with_secret(admin, plain, rotated)
        }
        WebhookCommand::Disable { id } => {
            let revoked = webhooks
                .revoke_subscription(pb::SubscriptionRef { id })
                .await
                .rpc()?;
            let rendered = wire::event_subscription(Some(revoked), None);
            admin.out.show(
                || json!({ "event_subscription": rendered }),
                || {
                    println!(
                        "Disabled {}; nothing more is sent to {}",
                        rendered["id"].as_str().unwrap_or_default(),
                        rendered["callback_url"].as_str().unwrap_or_default()
                    )
                },
            )
        }
        WebhookCommand::Deliveries { id, limit } => {
            let page = webhooks
                .list_delivery_attempts(pb::ListDeliveryAttemptsRequest {
                    id,
                    limit,
                    before: None,
                })
                .await
                .rpc()?;
            let attempts: Vec<_> = page
                .attempts
                .iter()
                .cloned()
                .map(wire::delivery_attempt)
                .collect();
            admin.out.list(
                || json!({ "event_delivery_attempts": attempts }),
                &["AT", "EVENT", "TYPE", "ATTEMPT", "STATUS", "MS", "ERROR"],
                || {
                    page.attempts
                        .iter()
                        .map(|a| {
                            vec![
                                a.created_at.clone(),
                                a.event_id.clone(),
                                a.event_type.clone(),
                                a.attempt.to_string(),
                                if a.response_status == 0 {
                                    "-".into()
                                } else {
                                    a.response_status.to_string()
                                },
                                a.latency_ms.to_string(),
                                a.error.clone().unwrap_or_default(),
                            ]
                        })
                        .collect()
                },
            )
        }
        WebhookCommand::Redeliver { id, event, after } => {
            let what = match (event, after) {
                (Some(event), _) => pb::redeliver_request::What::EventId(event),
                (None, Some(after)) => pb::redeliver_request::What::AfterCursor(after),
                (None, None) => unreachable!("clap requires one"),
            };
            let queued = webhooks
                .redeliver(pb::RedeliverRequest {
                    id,
                    what: Some(what),
                })
                .await
                .rpc()?;
            admin.out.show(
                || json!({ "queued": queued.queued }),
                || println!("Queued {} deliveries again", queued.queued),
            )
        }
        WebhookCommand::Incoming(command) => incoming(admin, &mut webhooks, command).await,
        WebhookCommand::Test { id } => {
            webhooks
                .send_test_event(pb::SubscriptionRef { id })
                .await
                .rpc()?;
            admin.out.show(
                || json!({ "queued": 1 }),
                || println!("Queued a webhook.test event"),
            )
        }
    }
}

/// A workspace id, from an id or a slug.
async fn workspace_id(admin: &mut Admin, workspace: &str) -> anyhow::Result<String> {
    let found = admin
        .identity
        .get_workspace(id_pb::GetWorkspaceRequest {
            id_or_slug: workspace.trim().to_owned(),
        })
        .await
        .rpc()?;
    Ok(found.id)
}

fn show_with_secret(
    admin: &Admin,
    plain: bool,
    created: pb::SubscriptionWithSecret,
) -> anyhow::Result<()> {
    let secret = created.signing_secret.clone();
    let subscription = created
        .subscription
        .context("webhooks returned no subscription")?;
    let rendered = wire::event_subscription(Some(subscription), Some(secret.clone()));
    admin.out.show_secret(
        plain,
        &secret,
        || json!({ "event_subscription": rendered }),
        || {
            println!(
                "Subscription {} pushes {} to {}",
                rendered["id"].as_str().unwrap_or_default(),
                rendered["event_types"],
                rendered["callback_url"].as_str().unwrap_or_default()
            );
            println!("Signing secret (shown once; verify webhook-signature with it):");
            println!("  {secret}");
        },
    )
}
