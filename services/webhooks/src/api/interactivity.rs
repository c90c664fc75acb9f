//! Interactivity: where presses of a bot's buttons go. Each bot has at
//! most one endpoint, a request URL (signed like a slash command's) or its
//! socket; it is stored beside the commands as a row of kind `actions`, so
//! it shares their delivery, secret rotation, invocation log and response
//! tokens. Managed by whoever may manage the bot's commands.

use super::slash_commands::{describe, with_secret};
use super::{Reply, WebhooksApi, acting_workspace, manager_for};
use crate::domain::access::{self, Manager};
use crate::domain::signing::SigningSecret;
use crate::store::slash_commands::{self, KIND_ACTIONS, SlashCommandRow};
use chrono::Utc;
use clickclack_common::ids;
use clickclack_proto::webhooks as pb;
use tonic::{Request, Response, Status};

fn no_endpoint() -> Status {
    Status::not_found("this bot has set no interactivity endpoint")
}

impl WebhooksApi {
    /// A new endpoint row for `bot_user_id`; its secret signs URL presses.
    fn interactivity_row(
        &self,
        workspace_id: String,
        bot_user_id: String,
        callback_url: String,
        created_by: Option<String>,
    ) -> (SlashCommandRow, SigningSecret) {
        let id = ids::new_id(ids::INTERACTIVITY);
        let secret = SigningSecret::generate();
        let row = SlashCommandRow {
            sealed_secret: self.sealer.seal(&id, secret.expose()),
            id,
            workspace_id,
            bot_user_id,
            command: String::new(),
            description: String::new(),
            delivery: if callback_url.is_empty() {
                "socket"
            } else {
                "url"
            }
            .to_owned(),
            callback_url,
            previous_sealed_secret: None,
            previous_secret_until: None,
            created_by,
            created_at: Utc::now(),
            revoked_at: None,
            kind: KIND_ACTIONS.to_owned(),
        };
        (row, secret)
    }

    /// The bot's endpoint, if the caller may manage the bot's commands.
    async fn managed_interactivity(
        &self,
        manager: &Manager,
        target: &pb::InteractivityRef,
    ) -> Result<SlashCommandRow, Status> {
        let workspace_id = acting_workspace(manager, &target.workspace_id)?;
        let bot = target.bot_user_id.clone();
        let row = self
            .with_conn(move |conn| {
                Ok(slash_commands::live_interactivity(
                    conn,
                    &workspace_id,
                    &bot,
                )?)
            })
            .await?
            .ok_or_else(no_endpoint)?;
        self.manageable(manager, row, |refusal| match refusal {
            access::Refusal::NotFound => no_endpoint(),
            other => super::refused(other),
        })
        .await
    }

    pub(super) async fn set_interactivity(
        &self,
        request: Request<pb::SetInteractivityRequest>,
    ) -> Reply<pb::SlashCommandWithSecret> {
        let manager = manager_for(&request, access::SLASH_COMMANDS)?;
        let input = request.into_inner();
        let workspace_id = acting_workspace(&manager, &input.workspace_id)?;
        let callback_url = self.checked_delivery(&input.delivery, &input.request_url)?;
        let (bot_user_id, created_by) = self
            .attributed(&manager, &workspace_id, &input.bot_user_id, super::refused)
            .await?;
        let (row, secret) =
            self.interactivity_row(workspace_id, bot_user_id, callback_url, created_by);
        let stored = self
            .with_conn(move |conn| Ok(slash_commands::replace_interactivity(conn, &row)?))
            .await?;
        tracing::info!(endpoint = %stored.id, bot = %stored.bot_user_id, delivery = %stored.delivery, "interactivity endpoint set");
        if stored.delivery == "socket" {
            // Nothing is signed over the socket: no secret to show.
            return Ok(Response::new(pb::SlashCommandWithSecret {
                command: Some(describe(&stored)),
                signing_secret: String::new(),
            }));
        }
        Ok(with_secret(&stored, &secret))
    }

    pub(super) async fn get_interactivity(
        &self,
        request: Request<pb::InteractivityRef>,
    ) -> Reply<pb::SlashCommand> {
        let manager = manager_for(&request, access::SLASH_COMMANDS)?;
        let row = self
            .managed_interactivity(&manager, request.get_ref())
            .await?;
        Ok(Response::new(describe(&row)))
    }

    pub(super) async fn remove_interactivity(
        &self,
        request: Request<pb::InteractivityRef>,
    ) -> Reply<pb::SlashCommand> {
        let manager = manager_for(&request, access::SLASH_COMMANDS)?;
        let row = self
            .managed_interactivity(&manager, request.get_ref())
            .await?;
        let revoked = self
            .with_conn(move |conn| Ok(slash_commands::revoke(conn, &row.id)?))
            .await?;
        tracing::info!(endpoint = %revoked.id, "interactivity endpoint removed");
        Ok(Response::new(describe(&revoked)))
    }

    /// Where a press of `bot_user_id`'s button goes: its endpoint, or (it
    /// set none) a socket endpoint made for it now.
    pub(super) async fn press_endpoint(
        &self,
        workspace_id: &str,
        bot_user_id: &str,
    ) -> Result<SlashCommandRow, Status> {
        let (workspace, bot) = (workspace_id.to_owned(), bot_user_id.to_owned());
        let (socket, _) =
            self.interactivity_row(workspace.clone(), bot.clone(), String::new(), None);
        self.with_conn(move |conn| {
            if let Some(found) = slash_commands::live_interactivity(conn, &workspace, &bot)? {
                return Ok(found);
            }
            // A racing first press may have made it: then that one.
            match slash_commands::insert(conn, &socket)? {
                Some(made) => Ok(made),
                None => Ok(slash_commands::live_interactivity(conn, &workspace, &bot)?
                    .ok_or_else(|| diesel::result::Error::NotFound)?),
            }
        })
        .await
    }
}
