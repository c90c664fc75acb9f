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
        message_id: row.message_id.clone(),
        action_id: row.action_id.clone(),
    }
}

/// What failed, as the invoker reads it: `/deploy`, or the button.
fn subject(row: &InvocationRow, command: &SlashCommandRow) -> String {
    match &row.action_id {
        Some(action) => format!("The {action:?} button"),
        None => command.command.clone(),
    }
}

fn to_pb(answer: replies::Answer) -> Option<pb::CommandReply> {
    match answer {
        replies::Answer::Ack => None,
        replies::Answer::Reply(reply) => Some(pb::CommandReply {
            response_type: reply.visibility.as_str().to_owned(),
            text: reply.text,
            ..Default::default()
        }),
        replies::Answer::Replace(replacement) => Some(pb::CommandReply {
            response_type: "in_channel".into(),
            text: replacement.text.unwrap_or_default(),
            replace_original: true,
            set_actions: replacement.actions.is_some(),
            actions: clickclack_common::actions::to_pb(replacement.actions.unwrap_or_default()),
        }),
    }
}

/// A fresh invocation of `command` by the caller, with its token.
fn new_invocation(
    command: &SlashCommandRow,
    user_id: &str,
    text: String,
    place: Place,
    responses_for: chrono::TimeDelta,
) -> (InvocationRow, RawToken) {
    let token = RawToken::generate(TOKEN_PREFIX);
    let now = Utc::now();
    let row = InvocationRow {
        id: ids::new_id(ids::COMMAND_INVOCATION),
        command_id: command.id.clone(),
        workspace_id: command.workspace_id.clone(),
        channel_id: place.channel_id,
        direct_conversation_id: place.direct_conversation_id,
        thread_root_id: place.thread_root_id.filter(|id| !id.is_empty()),
        user_id: user_id.to_owned(),
        text,
        response_token_hash: token.hash().as_bytes().to_vec(),
        responses_until: now + responses_for,
        responses_used: 0,
        acked_at: None,
        response_status: None,
        response_body: String::new(),
        error: None,
        created_at: now,
        completed_at: None,
        message_id: place.message_id,
        action_id: place.action_id,
    };
    (row, token)
}

/// Where an invocation happened.
struct Place {
    channel_id: Option<String>,
    direct_conversation_id: Option<String>,
    thread_root_id: Option<String>,
    message_id: Option<String>,
    action_id: Option<String>,
}

/// What every invocation's payload carries besides its own fields: where,
/// the response token and URL, and when.
fn finish_payload(
    mut payload: serde_json::Value,
    row: &InvocationRow,
    token: &RawToken,
    response_url_base: &str,
) -> String {
    for (key, value) in [
        ("workspace_id", json!(row.workspace_id)),
        ("user_id", json!(row.user_id)),
        ("trigger_id", json!(row.id)),
        ("invocation_id", json!(row.id)),
        ("response_token", json!(token.expose())),
        ("response_expires_at", json!(rfc3339(&row.responses_until))),
        ("invoked_at", json!(rfc3339(&row.created_at))),
    ] {
        payload[key] = value;
    }
    let mut payload = wire::with_present(
        payload,
        [
            ("channel_id", &row.channel_id),
            ("direct_conversation_id", &row.direct_conversation_id),
            ("thread_root_id", &row.thread_root_id),
        ],
    );
    if !response_url_base.is_empty() {
        payload["response_url"] = json!(format!(
            "{}{}",
            response_url_base,
            wire::command_response_path(token.expose())
        ));
    }
    payload.to_string()
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

        let (row, token) = new_invocation(
            &command,
            &claims.sub,
            input.text.trim().to_owned(),
            Place {
                channel_id: input.channel_id,
                direct_conversation_id: input.direct_conversation_id,
                thread_root_id: input.thread_root_id,
                message_id: None,
                action_id: None,
            },
            self.commands.responses_for,
        );
        // What the bot gets: upstream's fields, then ours.
        let payload = json!({
            "type": clickclack_common::event_types::COMMAND_INVOKED,
            "command_id": command.id,
            "command": command.command,
            "text": row.text,
            "bot_user_id": command.bot_user_id,
        });
        let payload = finish_payload(payload, &row, &token, &input.response_url_base);
        self.dispatch(command, row, payload).await
    }

    /// A press of a button on a bot's message: to the bot's interactivity
    /// endpoint, as a command goes to its own.
    pub(super) async fn invoke_action(
        &self,
        request: Request<pb::InvokeActionRequest>,
    ) -> Reply<pb::InvokeResult> {
        let claims = caller(&request)?;
        let input = request.into_inner();
        if input.workspace_id != claims.wsp {
            return Err(status(Code::PermissionDenied, "not your workspace"));
        }
        let action = input
            .action
            .ok_or_else(|| status(Code::InvalidArgument, "action is required"))?;
        if !self
            .bot_may_act(&input.workspace_id, &input.bot_user_id)
            .await?
        {
            return Err(status(
                Code::FailedPrecondition,
                "the bot of this message can no longer answer here",
            ));
        }
        let endpoint = self
            .press_endpoint(&input.workspace_id, &input.bot_user_id)
            .await?;
        let (row, token) = new_invocation(
            &endpoint,
            &claims.sub,
            action.value.clone(),
            Place {
                channel_id: input.channel_id,
                direct_conversation_id: input.direct_conversation_id,
                thread_root_id: Some(input.thread_root_id),
                message_id: Some(input.message_id),
                action_id: Some(action.id.clone()),
            },
            self.commands.responses_for,
        );
        let payload = json!({
            "type": clickclack_common::event_types::ACTION_INVOKED,
            "bot_user_id": endpoint.bot_user_id,
            "message_id": row.message_id,
            "action": {
                "id": action.id,
                "label": action.label,
                "style": action.style,
                "value": action.value,
            },
        });
        let payload = finish_payload(payload, &row, &token, &input.response_url_base);
        self.dispatch(endpoint, row, payload).await
    }

    /// Records the invocation, then POSTs it (a `url` endpoint) or hands
    /// its payload back for the gateway to publish (`socket`).
    async fn dispatch(
        &self,
        command: SlashCommandRow,
        row: InvocationRow,
        payload: String,
    ) -> Reply<pb::InvokeResult> {
        let stored = self
            .with_conn(move |conn| Ok(invocations::insert(conn, &row)?))
            .await?;
        tracing::info!(invocation = %stored.id, endpoint = %command.id, kind = %command.kind, "invoked");

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
                tracing::warn!(command = %command.id, %why, "invocation not sent");
                (
                    Err(format!("{} failed: {why}", subject(&invocation, command))),
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
                let subject = subject(&invocation, command);
                let verdict =
                    match replies::failure(&subject, &attempt.outcome, attempt.error.as_deref()) {
                        Some(failure) => Err(failure),
                        None => replies::read_answer(&attempt.response_body)
                            .map_err(|why| format!("{subject} failed: its bot {why}")),
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
            reply: verdict.as_ref().ok().cloned().and_then(to_pb),
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
                subject(&row, &command)
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
