//! Invoking slash commands: the signed POST to a bot's request URL (3 s to
//! answer), the record a socket command's bot acknowledges, the response
//! token that lets the bot answer up to five more times in 15 minutes, and
//! the log of it all for the command's managers.

use super::{Reply, WebhooksApi, caller, manager_for};
use crate::delivery::Outgoing;
use crate::domain::access;
use crate::domain::replies::{self, MAX_REPLY_CHARS};
use crate::domain::signing::delivery_headers;
use crate::store::invocations::{self, InvocationRow, Redeemed};
use crate::store::slash_commands::{self, SlashCommandRow};
use chrono::Utc;
use clickclack_common::commands::normalize_command;
use clickclack_common::grpc::{prefix_within, status};
use clickclack_common::ids;
use clickclack_common::time::rfc3339;
use clickclack_common::token::RawToken;
use clickclack_common::wire;
use clickclack_proto::webhooks as pb;
use serde_json::json;
use std::time::Duration;
use tonic::{Code, Request, Response, Status};

/// How long a bot has to acknowledge an invocation.
pub const ACK_WITHIN: Duration = Duration::from_secs(3);
/// Prefix of a response token.
const TOKEN_PREFIX: &str = "ccr_";
/// The most of a bot's answer read (its reply may be a long message).
const ANSWER_BYTES: usize = 4 * MAX_REPLY_CHARS + 1024;
/// The most of an answer kept in the log.
const LOGGED_BYTES: usize = 1024;
/// How often a waiting socket invocation looks for its acknowledgement.
const ACK_POLL: Duration = Duration::from_millis(50);
/// Invocations listed at most.
const MAX_LISTED: u32 = 100;

pub(super) fn describe(row: &InvocationRow, command: &SlashCommandRow) -> pb::Invocation {
    pb::Invocation {
        id: row.id.clone(),
        command_id: row.command_id.clone(),
        command: command.command.clone(),
        workspace_id: row.workspace_id.clone(),
        channel_id: row.channel_id.clone(),
        direct_conversation_id: row.direct_conversation_id.clone(),
        thread_root_id: row.thread_root_id.clone(),
        user_id: row.user_id.clone(),
        bot_user_id: command.bot_user_id.clone(),
        text: row.text.clone(),
        delivery: command.delivery.clone(),
        response_status: row.response_status,
        response_body: row.response_body.clone(),
        error: row.error.clone(),
        created_at: rfc3339(&row.created_at),
        completed_at: row.completed_at.as_ref().map(rfc3339),
        acked_at: row.acked_at.as_ref().map(rfc3339),
        responses_used: u32::try_from(row.responses_used).unwrap_or_default(),
    }
}

fn to_pb(reply: replies::Reply) -> pb::CommandReply {
    pb::CommandReply {
        response_type: reply.visibility.as_str().to_owned(),
        text: reply.text,
    }
}

impl WebhooksApi {
    pub(super) async fn invoke_command(
        &self,
        request: Request<pb::InvokeRequest>,
    ) -> Reply<pb::InvokeResult> {
        let claims = caller(&request)?;
        let input = request.into_inner();
        if input.workspace_id != claims.wsp {
            return Err(status(Code::PermissionDenied, "not your workspace"));
        }
        if input.channel_id.is_some() == input.direct_conversation_id.is_some() {
            return Err(status(
                Code::InvalidArgument,
                "name exactly one of channel_id or direct_conversation_id",
            ));
        }
        let not_found = || {
            Response::new(pb::InvokeResult {
                found: false,
                ..Default::default()
            })
        };
        // A name that could not be registered is not a command either.
        let Ok(name) = normalize_command(&input.command) else {
            return Ok(not_found());
        };
        let workspace_id = claims.wsp.clone();
        let lookup = (workspace_id.clone(), name);
        let Some(command) = self
            .with_conn(move |conn| Ok(slash_commands::live_named(conn, &lookup.0, &lookup.1)?))
            .await?
        else {
            return Ok(not_found());
        };
        if !self
            .bot_may_act(&command.workspace_id, &command.bot_user_id)
            .await?
        {
            return Err(status(
                Code::FailedPrecondition,
                format!("{}'s bot can no longer answer here", command.command),
            ));
        }

        let token = RawToken::generate(TOKEN_PREFIX);
        let now = Utc::now();
        let row = InvocationRow {
            id: ids::new_id(ids::COMMAND_INVOCATION),
            command_id: command.id.clone(),
            workspace_id,
            channel_id: input.channel_id,
            direct_conversation_id: input.direct_conversation_id,
            thread_root_id: input.thread_root_id.filter(|id| !id.is_empty()),
            user_id: claims.sub.clone(),
            text: input.text.trim().to_owned(),
            response_token_hash: token.hash().as_bytes().to_vec(),
            responses_until: now + self.commands.responses_for,
            responses_used: 0,
            acked_at: None,
            response_status: None,
            response_body: String::new(),
            error: None,
            created_at: now,
            completed_at: None,
        };
        // What the bot gets: upstream's fields, then ours.
        let payload = json!({
            "type": clickclack_common::event_types::COMMAND_INVOKED,
            "command_id": command.id,
            "command": command.command,
            "text": row.text,
            "workspace_id": row.workspace_id,
            "user_id": row.user_id,
            "bot_user_id": command.bot_user_id,
            "trigger_id": row.id,
            "invocation_id": row.id,
            "response_token": token.expose(),
            "response_expires_at": rfc3339(&row.responses_until),
            "invoked_at": rfc3339(&row.created_at),
        });
        let mut payload = wire::with_present(
            payload,
            [
                ("channel_id", &row.channel_id),
                ("direct_conversation_id", &row.direct_conversation_id),
                ("thread_root_id", &row.thread_root_id),
            ],
        );
        if !input.response_url_base.is_empty() {
            payload["response_url"] = json!(format!(
                "{}{}",
                input.response_url_base,
                wire::command_response_path(token.expose())
            ));
        }
        let payload = payload.to_string();
        let stored = self
            .with_conn(move |conn| Ok(invocations::insert(conn, &row)?))
            .await?;
        tracing::info!(invocation = %stored.id, command = %command.id, "slash command invoked");

        if command.delivery == "socket" {
            return Ok(Response::new(pb::InvokeResult {
                found: true,
                invocation: Some(describe(&stored, &command)),
                payload_json: payload,
                ..Default::default()
            }));
        }
        Ok(Response::new(
            self.call_request_url(&command, stored, payload).await?,
        ))
    }

    /// POSTs the invocation, signed, and reads what the bot answered.
    async fn call_request_url(
        &self,
        command: &SlashCommandRow,
        invocation: InvocationRow,
        payload: String,
    ) -> Result<pb::InvokeResult, Status> {
        let previous = command
            .previous_sealed_secret
            .as_deref()
            .zip(command.previous_secret_until);
        let prepared = self
            .policy
            .check_url(&command.callback_url)
            .map_err(|error| error.to_string())
            .and_then(|url| {
                let secrets = self
                    .sealer
                    .signing_secrets(&command.id, &command.sealed_secret, previous)
                    .ok_or("the signing secret does not open")?;
                Ok((url, secrets))
            });
        let (verdict, status_code, body, error) = match prepared {
            Err(why) => {
                tracing::warn!(command = %command.id, %why, "slash command not sent");
                (
                    Err(format!("{} failed: {why}", command.command)),
                    None,
                    String::new(),
                    Some(why),
                )
            }
            Ok((url, secrets)) => {
                let timestamp = Utc::now().timestamp();
                let headers =
                    delivery_headers(&secrets, &invocation.id, timestamp, payload.as_bytes());
                let attempt = self
                    .commands
                    .sender
                    .send_within(
                        Outgoing {
                            url: &url,
                            body: payload.as_bytes(),
                            headers: &headers,
                        },
                        ACK_WITHIN,
                        ANSWER_BYTES,
                    )
                    .await;
                let status_code = match attempt.outcome {
                    crate::domain::schedule::Outcome::Answered { status, .. } => {
                        Some(i32::from(status))
                    }
                    _ => None,
                };
                let verdict = match replies::failure(
                    &command.command,
                    &attempt.outcome,
                    attempt.error.as_deref(),
                ) {
                    Some(failure) => Err(failure),
                    None => replies::read_answer(&attempt.response_body)
                        .map_err(|why| format!("{} failed: its bot {why}", command.command)),
                };
                let error = verdict.as_ref().err().cloned();
                (verdict, status_code, attempt.response_body, error)
            }
        };
        let acked = verdict.is_ok();
        let id = invocation.id.clone();
        // The first bytes of the answer, cut on a character boundary.
        let logged_body = prefix_within(&body, LOGGED_BYTES).to_owned();
        let completed = self
            .with_conn(move |conn| {
                Ok(invocations::complete(
                    conn,
                    &id,
                    acked,
                    status_code,
                    &logged_body,
                    error.as_deref(),
                )?)
            })
            .await?;
        Ok(pb::InvokeResult {
            found: true,
            invocation: Some(describe(&completed, command)),
            acked,
            reply: verdict.as_ref().ok().cloned().flatten().map(to_pb),
            failure: verdict.err(),
            payload_json: String::new(),
        })
    }

    /// Waits (to 3 s from the invocation) for a socket command's bot to
    /// acknowledge with its response token.
    pub(super) async fn wait_for_ack(
        &self,
        request: Request<pb::InvocationRef>,
    ) -> Reply<pb::InvokeResult> {
        let claims = caller(&request)?;
        let id = request.into_inner().id;
        loop {
            let lookup = id.clone();
            let (row, command) = self
                .with_conn(move |conn| Ok(invocations::find(conn, &lookup)?))
                .await?
                .filter(|(row, _)| row.user_id == claims.sub)
                .ok_or_else(|| Status::not_found("invocation not found"))?;
            let waited = (Utc::now() - row.created_at).to_std().unwrap_or_default();
            if row.acked_at.is_some() || row.completed_at.is_some() || waited >= ACK_WITHIN {
                return Ok(Response::new(self.settle(row, command).await?));
            }
            tokio::time::sleep(ACK_POLL.min(ACK_WITHIN - waited)).await;
        }
    }

    /// How a socket invocation ended: acknowledged, or given up on.
    async fn settle(
        &self,
        row: InvocationRow,
        command: SlashCommandRow,
    ) -> Result<pb::InvokeResult, Status> {
        let row = if row.acked_at.is_none() && row.completed_at.is_none() {
            let id = row.id.clone();
            let why = format!(
                "{} failed: its bot did not acknowledge within 3 seconds (is it connected?)",
                command.command
            );
            self.with_conn(move |conn| Ok(invocations::give_up(conn, &id, &why)?))
                .await?
        } else {
            row
        };
        let acked = row.acked_at.is_some();
        Ok(pb::InvokeResult {
            found: true,
            acked,
            failure: if acked { None } else { row.error.clone() },
            invocation: Some(describe(&row, &command)),
            reply: None,
            payload_json: String::new(),
        })
    }

    /// The invocation a response token answers, counting the use.
    pub(super) async fn redeem_token(
        &self,
        request: Request<pb::RedeemResponseTokenRequest>,
    ) -> Reply<pb::Invocation> {
        let input = request.into_inner();
        let presented = RawToken::from_presented(input.response_token);
        if !presented.is_well_formed(TOKEN_PREFIX) {
            return Err(Status::not_found("unknown response token"));
        }
        let hash = presented.hash().as_bytes().to_vec();
        let says_something = input.says_something;
        let redeemed = self
            .with_conn(move |conn| {
                Ok(invocations::redeem(
                    conn,
                    &hash,
                    says_something,
                    ACK_WITHIN,
                )?)
            })
            .await?;
        match redeemed {
            Redeemed::Answers(found) => {
                let (row, command) = *found;
                if !self
                    .bot_may_act(&command.workspace_id, &command.bot_user_id)
                    .await?
                {
                    return Err(Status::not_found("unknown response token"));
                }
                Ok(Response::new(describe(&row, &command)))
            }
            Redeemed::Unknown => Err(Status::not_found("unknown response token")),
            Redeemed::Spent => Err(status(
                Code::FailedPrecondition,
                "this response token has expired or answered its 5 responses",
            )),
        }
    }

    pub(super) async fn list_command_invocations(
        &self,
        request: Request<pb::ListInvocationsRequest>,
    ) -> Reply<pb::InvocationList> {
        let manager = manager_for(&request, access::SLASH_COMMANDS)?;
        let input = request.into_inner();
        let command = self.managed_command(&manager, &input.command_id).await?;
        let limit = i64::from(input.limit.clamp(1, MAX_LISTED));
        let id = command.id.clone();
        let rows = self
            .with_conn(move |conn| Ok(invocations::of_command(conn, &id, limit)?))
            .await?;
        Ok(Response::new(pb::InvocationList {
            invocations: rows.iter().map(|row| describe(row, &command)).collect(),
        }))
    }
}
