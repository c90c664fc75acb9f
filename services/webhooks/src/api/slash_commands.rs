//! Slash commands: the registry of `/name`s a workspace's members type and
//! the request URL of the bot that answers each. Made and managed by
//! workspace managers, the bot's owner, or the bot itself with
//! `commands:write`; every member may list them (never their secrets).
//! The signing secret is sealed like a subscription's, so it can sign.

use super::{Reply, WebhooksApi, acting_workspace, manager_for, refused};
use crate::domain::access::{self, Manager, Refusal};
use crate::domain::signing::SigningSecret;
use crate::store::slash_commands::{self, SlashCommandRow};
use chrono::{TimeDelta, Utc};
use clickclack_common::commands::normalize_command;
use clickclack_common::grpc::status;
use clickclack_common::ids;
use clickclack_common::time::rfc3339;
use clickclack_proto::webhooks as pb;
use tonic::{Code, Request, Response, Status};

/// The longest description (upstream's bound).
const MAX_DESCRIPTION_CHARS: usize = 500;
/// How long the secret a rotation replaced keeps signing.
const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);

pub(super) fn describe(row: &SlashCommandRow) -> pb::SlashCommand {
    pb::SlashCommand {
        id: row.id.clone(),
        workspace_id: row.workspace_id.clone(),
        command: row.command.clone(),
        description: row.description.clone(),
        callback_url: row.callback_url.clone(),
        delivery: row.delivery.clone(),
        bot_user_id: row.bot_user_id.clone(),
        created_by: row.created_by.clone(),
        created_at: rfc3339(&row.created_at),
        revoked_at: row.revoked_at.as_ref().map(rfc3339),
        kind: row.kind.clone(),
    }
}

pub(super) fn with_secret(
    row: &SlashCommandRow,
    secret: &SigningSecret,
) -> Response<pb::SlashCommandWithSecret> {
    Response::new(pb::SlashCommandWithSecret {
        command: Some(describe(row)),
        signing_secret: secret.expose().to_owned(),
    })
}

pub(super) fn not_found_command() -> Status {
    Status::not_found("slash command not found")
}

/// A refusal, with "not found" in the words of commands.
fn refused_command(refusal: Refusal) -> Status {
    match refusal {
        Refusal::NotFound => not_found_command(),
        other => refused(other),
    }
}

impl WebhooksApi {
    /// A delivery and its URL as asked: the URL checked for `url` (the
    /// default), empty for `socket`.
    pub(super) fn checked_delivery(&self, delivery: &str, url: &str) -> Result<String, Status> {
        match delivery.trim() {
            "" | "url" => Ok(self
                .policy
                .check_url(url)
                .map_err(|error| status(Code::InvalidArgument, error.to_string()))?
                .to_string()),
            "socket" if url.trim().is_empty() => Ok(String::new()),
            "socket" => Err(status(
                Code::InvalidArgument,
                "socket delivery has no URL: its bot gets the events on its socket",
            )),
            other => Err(status(
                Code::InvalidArgument,
                format!("delivery {other:?} is neither url nor socket"),
            )),
        }
    }

    /// The command `id` if the caller may manage its bot.
    pub(super) async fn managed_command(
        &self,
        manager: &Manager,
        id: &str,
    ) -> Result<SlashCommandRow, Status> {
        let id = id.to_owned();
        let row = self
            .with_conn(move |conn| Ok(slash_commands::find(conn, &id)?))
            .await?
            .ok_or_else(not_found_command)?;
        self.manageable(manager, row, refused_command).await
    }

    pub(super) async fn create_command(
        &self,
        request: Request<pb::CreateSlashCommandRequest>,
    ) -> Reply<pb::SlashCommandWithSecret> {
        let manager = manager_for(&request, access::SLASH_COMMANDS)?;
        let input = request.into_inner();
        let workspace_id = acting_workspace(&manager, &input.workspace_id)?;
        let command = normalize_command(&input.command)
            .map_err(|error| status(Code::InvalidArgument, error))?;
        let description = input.description.trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(status(
                Code::InvalidArgument,
                "description is at most 500 characters",
            ));
        }
        let callback_url = self.checked_delivery(&input.delivery, &input.callback_url)?;
        let delivery = if callback_url.is_empty() {
            "socket"
        } else {
            "url"
        };
        let (bot_user_id, created_by) = self
            .attributed(&manager, &workspace_id, &input.bot_user_id, refused_command)
            .await?;
        let id = ids::new_id(ids::SLASH_COMMAND);
        let secret = SigningSecret::generate();
        let row = SlashCommandRow {
            sealed_secret: self.sealer.seal(&id, secret.expose()),
            id,
            workspace_id,
            bot_user_id,
            command,
            description,
            delivery: delivery.to_owned(),
            callback_url,
            previous_sealed_secret: None,
            previous_secret_until: None,
            created_by,
            created_at: Utc::now(),
            revoked_at: None,
            kind: slash_commands::KIND_COMMAND.to_owned(),
        };
        let name = row.command.clone();
        let stored = self
            .with_conn(move |conn| Ok(slash_commands::insert(conn, &row)?))
            .await?
            .ok_or_else(|| {
                status(
                    Code::AlreadyExists,
                    format!("{name} is already registered in this workspace"),
                )
            })?;
        tracing::info!(command = %stored.id, workspace = %stored.workspace_id, "slash command registered");
        Ok(with_secret(&stored, &secret))
    }

    pub(super) async fn list_commands(
        &self,
        request: Request<pb::ListSlashCommandsRequest>,
    ) -> Reply<pb::SlashCommandList> {
        let manager = manager_for(&request, access::SLASH_COMMANDS)?;
        let input = request.into_inner();
        // Every member sees the workspace's commands: they type them.
        let workspace_id = acting_workspace(&manager, &input.workspace_id)?;
        let rows = self
            .with_conn(move |conn| Ok(slash_commands::live_in(conn, &workspace_id)?))
            .await?;
        Ok(Response::new(pb::SlashCommandList {
            commands: rows
                .iter()
                .filter(|row| {
                    input
                        .bot_user_id
                        .as_deref()
                        .is_none_or(|bot| row.bot_user_id == bot)
                })
                .map(describe)
                .collect(),
        }))
    }

    pub(super) async fn revoke_command(
        &self,
        request: Request<pb::SlashCommandRef>,
    ) -> Reply<pb::SlashCommand> {
        let manager = manager_for(&request, access::SLASH_COMMANDS)?;
        let row = self
            .managed_command(&manager, &request.get_ref().id)
            .await?;
        let revoked = self
            .with_conn(move |conn| Ok(slash_commands::revoke(conn, &row.id)?))
            .await?;
        tracing::info!(command = %revoked.id, "slash command revoked");
        Ok(Response::new(describe(&revoked)))
    }

    pub(super) async fn rotate_command_secret(
        &self,
        request: Request<pb::SlashCommandRef>,
    ) -> Reply<pb::SlashCommandWithSecret> {
        let manager = manager_for(&request, access::SLASH_COMMANDS)?;
        let row = self
            .managed_command(&manager, &request.get_ref().id)
            .await?;
        if row.revoked_at.is_some() {
            return Err(status(
                Code::InvalidArgument,
                "this slash command was revoked",
            ));
        }
        let secret = SigningSecret::generate();
        let sealed = self.sealer.seal(&row.id, secret.expose());
        let until = Utc::now() + ROTATION_OVERLAP;
        let rotated = self
            .with_conn(move |conn| {
                Ok(slash_commands::rotate_secret(
                    conn, &row.id, &sealed, until,
                )?)
            })
            .await?;
        tracing::info!(command = %rotated.id, "slash command secret rotated");
        Ok(with_secret(&rotated, &secret))
    }
}

super::for_one_bot!(SlashCommandRow);
