//! gRPC handlers of the webhooks service: managing subscriptions, reading
//! their delivery log, and queueing deliveries again.
//!
//! Each call is authorized here ([`crate::domain::access`]) from the
//! caller's signed assertion and, for a bot's subscriptions, the bot's
//! owner as identity says.

mod incoming;
mod interactivity;
mod invocations;
mod slash_commands;

use crate::delivery::Sender;
use crate::domain::access::{self, Attribution, Manager, Readership, Refusal};
use crate::domain::matching::{self, Interest};
use crate::domain::sealing::Sealer;
use crate::domain::signing::SigningSecret;
use crate::domain::target::TargetPolicy;
use crate::error::WebhooksError;
use crate::store::queue::{self, NewDelivery, Requeue};
use crate::store::{
    feed,
    subscriptions::{self, SubscriptionRow},
};
use chrono::{DateTime, TimeDelta, Utc};
use clickclack_common::assertion::caller;
use clickclack_common::db::{self, PgPool};
use clickclack_common::grpc::{Peer, status};
use clickclack_common::ids;
use clickclack_common::time::rfc3339;
use clickclack_proto::identity as id_pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use clickclack_proto::webhooks as pb;
use clickclack_proto::webhooks::webhooks_service_server::WebhooksService;
use diesel::Connection;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Notify;
use tonic::{Code, Request, Response, Status};

/// Live subscriptions a workspace may hold at once, unless the operator
/// sets another number (`CLICKCLACK_WEBHOOKS_MAX_PER_WORKSPACE`).
pub const MAX_LIVE_PER_WORKSPACE: i64 = 25;
/// How long a rotated-out secret signs beside the new one, unless asked.
const DEFAULT_OVERLAP: TimeDelta = TimeDelta::hours(24);
const MAX_OVERLAP_SECONDS: u32 = 7 * 24 * 3600;
/// Delivery log page sizes.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

type Reply<T> = Result<Response<T>, Status>;

pub struct WebhooksApi {
    pool: PgPool,
    sealer: Arc<Sealer>,
    policy: Arc<TargetPolicy>,
    /// Signed as this service: bots' owners and memberships.
    identity: IdentityServiceClient<Peer>,
    /// Wakes this replica's worker when something was queued.
    wake: Arc<Notify>,
    /// Live subscriptions a workspace may hold.
    quota: i64,
    commands: CommandSettings,
}

/// How slash commands are invoked.
#[derive(Clone)]
pub struct CommandSettings {
    /// Sends invocations to request URLs (the deliveries' target policy).
    pub sender: Sender,
    /// How long an invocation's response token answers follow-ups.
    pub responses_for: chrono::TimeDelta,
}

impl WebhooksApi {
    pub fn new(
        pool: PgPool,
        sealer: Arc<Sealer>,
        policy: Arc<TargetPolicy>,
        identity: IdentityServiceClient<Peer>,
        wake: Arc<Notify>,
        quota: i64,
        commands: CommandSettings,
    ) -> WebhooksApi {
        WebhooksApi {
            pool,
            sealer,
            policy,
            identity,
            wake,
            quota,
            commands,
        }
    }

    async fn with_conn<T, F>(&self, work: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&mut diesel::PgConnection) -> Result<T, WebhooksError> + Send + 'static,
    {
        Ok(db::run(&self.pool, work).await?)
    }

    /// The bot `user_id` of `workspace_id` and its owner, or why not.
    async fn bot_of(&self, workspace_id: &str, user_id: &str) -> Result<BotFacts, Status> {
        let member = self
            .identity
            .clone()
            .get_membership(id_pb::GetMembershipRequest {
                workspace_id: workspace_id.to_owned(),
                user_id: user_id.to_owned(),
            })
            .await;
        let user = match member {
            Ok(member) => member.into_inner().user,
            Err(found)
                if found.code() == Code::NotFound || found.code() == Code::InvalidArgument =>
            {
                None
            }
            Err(other) => return Err(unavailable(other)),
        };
        match user {
            Some(user) if user.kind == "bot" => Ok(BotFacts {
                owner: user.owner_user_id,
            }),
            _ => Err(status(
                Code::InvalidArgument,
                "bot_user_id is not a bot of this workspace",
            )),
        }
    }

    /// The owners of these bots (a bot no longer known has none).
    async fn owners_of(&self, bots: Vec<String>) -> Result<HashMap<String, String>, Status> {
        if bots.is_empty() {
            return Ok(HashMap::new());
        }
        let users = self
            .identity
            .clone()
            .get_users(id_pb::GetUsersRequest { ids: bots })
            .await
            .map_err(unavailable)?
            .into_inner()
            .users;
        Ok(users
            .into_iter()
            .filter_map(|user| Some((user.id, user.owner_user_id?)))
            .collect())
    }

    /// The owners of `bots`, when the caller's rights depend on them (a
    /// human who is not a workspace manager).
    async fn owners_for(
        &self,
        manager: &Manager,
        bots: Vec<String>,
    ) -> Result<HashMap<String, String>, Status> {
        match manager {
            Manager::Member {
                is_bot: false,
                manages_workspace: false,
                ..
            } => self.owners_of(bots).await,
            _ => Ok(HashMap::new()),
        }
    }

    /// Whether a bot could still act (post, answer): it is a bot of the
    /// workspace, and so is its owner, if it has one.
    async fn bot_may_act(&self, workspace_id: &str, bot_user_id: &str) -> Result<bool, Status> {
        let facts = match self.bot_of(workspace_id, bot_user_id).await {
            Ok(facts) => facts,
            Err(refusal) if refusal.code() == Code::InvalidArgument => return Ok(false),
            Err(other) => return Err(other),
        };
        match facts.owner {
            Some(owner) => self.is_member(workspace_id, &owner).await,
            None => Ok(true),
        }
    }

    /// Whether `user_id` is a member of `workspace_id`.
    async fn is_member(&self, workspace_id: &str, user_id: &str) -> Result<bool, Status> {
        let found = self
            .identity
            .clone()
            .get_membership(id_pb::GetMembershipRequest {
                workspace_id: workspace_id.to_owned(),
                user_id: user_id.to_owned(),
            })
            .await;
        match found {
            Ok(_) => Ok(true),
            Err(status) if status.code() == Code::NotFound => Ok(false),
            Err(other) => Err(unavailable(other)),
        }
    }

    /// The subscription `id` if the caller may manage it; "not found"
    /// otherwise, unless the caller is in its workspace.
    async fn authorized(&self, manager: &Manager, id: &str) -> Result<SubscriptionRow, Status> {
        let id = id.to_owned();
        let row = self
            .with_conn(move |conn| Ok(subscriptions::find(conn, &id)?))
            .await?
            .ok_or_else(not_found)?;
        self.manageable(manager, row, refused).await
    }

    /// `row` if the caller may manage it, asking identity for its bot's
    /// owner when that decides; `refuse` words a refusal.
    async fn manageable<R: ForBot>(
        &self,
        manager: &Manager,
        row: R,
        refuse: fn(Refusal) -> Status,
    ) -> Result<R, Status> {
        let bots = row.bot_user_id().map(str::to_owned).into_iter().collect();
        let owners = self.owners_for(manager, bots).await?;
        manager
            .may_manage(row.readership(&owners))
            .map_err(refuse)?;
        Ok(row)
    }

    /// The bot something new made in `workspace_id` acts as, and who made
    /// it, if the caller may make it for that bot (which must be one of the
    /// workspace's).
    async fn attributed(
        &self,
        manager: &Manager,
        workspace_id: &str,
        requested_bot: &str,
        refuse: fn(Refusal) -> Status,
    ) -> Result<(String, Option<String>), Status> {
        let Attribution {
            bot_user_id,
            created_by,
        } = manager.attribute(requested_bot).map_err(refuse)?;
        let Some(bot_user_id) = bot_user_id else {
            return Err(status(Code::InvalidArgument, "bot_user_id is required"));
        };
        let BotFacts { owner } = self.bot_of(workspace_id, &bot_user_id).await?;
        let owners = owner
            .map(|owner| (bot_user_id.clone(), owner))
            .into_iter()
            .collect();
        manager
            .may_manage(readership_of(
                workspace_id,
                Some(&bot_user_id),
                created_by.as_deref(),
                &owners,
            ))
            .map_err(refuse)?;
        Ok((bot_user_id, created_by))
    }

    /// Rows with their queue numbers, as the wire has them.
    async fn described(&self, rows: Vec<SubscriptionRow>) -> Result<Vec<pb::Subscription>, Status> {
        let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
        let pending = self
            .with_conn(move |conn| Ok(queue::waiting(conn, Some(&ids))?))
            .await?;
        let now = Utc::now();
        Ok(rows
            .iter()
            .map(|row| {
                let waiting = pending.iter().find(|(id, _, _)| *id == row.id);
                describe(
                    row,
                    waiting.map(|(_, count, oldest)| (*count, *oldest)),
                    now,
                )
            })
            .collect())
    }
}

struct BotFacts {
    owner: Option<String>,
}

/// Something kept for a bot (a subscription, an incoming webhook, a slash
/// command), as the management rules read it.
trait ForBot {
    fn workspace_id(&self) -> &str;
    fn bot_user_id(&self) -> Option<&str>;
    fn created_by(&self) -> Option<&str>;

    fn readership<'a>(&'a self, owners: &'a HashMap<String, String>) -> Readership<'a> {
        readership_of(
            self.workspace_id(),
            self.bot_user_id(),
            self.created_by(),
            owners,
        )
    }
}

/// [`ForBot`] for a row that always acts for one bot (`bot_user_id`).
macro_rules! for_one_bot {
    ($row:ty) => {
        impl super::ForBot for $row {
            fn workspace_id(&self) -> &str {
                &self.workspace_id
            }
            fn bot_user_id(&self) -> Option<&str> {
                Some(&self.bot_user_id)
            }
            fn created_by(&self) -> Option<&str> {
                self.created_by.as_deref()
            }
        }
    };
}
use for_one_bot;

impl ForBot for SubscriptionRow {
    fn workspace_id(&self) -> &str {
        &self.workspace_id
    }
    fn bot_user_id(&self) -> Option<&str> {
        self.bot_user_id.as_deref()
    }
    fn created_by(&self) -> Option<&str> {
        self.created_by.as_deref()
    }
}

/// Who something of a workspace reads or posts for, with its bot's owner
/// from `owners` (bot id -> owner id).
fn readership_of<'a>(
    workspace_id: &'a str,
    bot: Option<&'a str>,
    created_by: Option<&'a str>,
    owners: &'a HashMap<String, String>,
) -> Readership<'a> {
    Readership {
        workspace_id,
        bot: bot.map(|bot| (bot, owners.get(bot).map(String::as_str))),
        created_by,
    }
}

/// Who manages event subscriptions and incoming webhooks in this call.
fn manager_of<T>(request: &Request<T>) -> Result<Manager, Status> {
    manager_for(request, access::HOOKS)
}

/// Who manages `managed` in this call.
fn manager_for<T>(request: &Request<T>, managed: access::Managed) -> Result<Manager, Status> {
    let claims = caller(request)?;
    Manager::from_claims(&claims, managed).ok_or_else(|| {
        Status::permission_denied(format!(
            "only members and operators manage {}",
            managed.things
        ))
    })
}

/// The workspace a call names, which must be the caller's own (an operator
/// may name any); another one is "not found".
fn acting_workspace(manager: &Manager, named: &str) -> Result<String, Status> {
    let workspace_id = named.trim().to_owned();
    if manager
        .workspace()
        .is_some_and(|acting| acting != workspace_id)
    {
        return Err(Status::not_found("workspace not found"));
    }
    Ok(workspace_id)
}

/// Deliveries are queued only for a subscription still running.
fn require_live(row: &SubscriptionRow) -> Result<(), Status> {
    if row.revoked_at.is_some() || row.disabled_at.is_some() {
        return Err(status(
            Code::FailedPrecondition,
            "this subscription was revoked or disabled",
        ));
    }
    Ok(())
}

fn not_found() -> Status {
    Status::not_found(Refusal::NotFound.to_string())
}

fn refused(refusal: Refusal) -> Status {
    match refusal {
        Refusal::NotFound => not_found(),
        other => status(Code::PermissionDenied, other.to_string()),
    }
}

fn unavailable(error: Status) -> Status {
    tracing::warn!(%error, "webhooks: identity did not answer");
    Status::unavailable("identity is unavailable")
}

/// The one answer that shows a secret: right after it was made.
fn with_secret(
    row: &SubscriptionRow,
    secret: &SigningSecret,
) -> Response<pb::SubscriptionWithSecret> {
    Response::new(pb::SubscriptionWithSecret {
        subscription: Some(describe(row, None, Utc::now())),
        signing_secret: secret.expose().to_owned(),
    })
}

/// A stored subscription as the wire has it (never its secret).
fn describe(
    row: &SubscriptionRow,
    pending: Option<(i64, Option<DateTime<Utc>>)>,
    now: DateTime<Utc>,
) -> pb::Subscription {
    let (count, oldest) = pending.unwrap_or_default();
    pb::Subscription {
        id: row.id.clone(),
        workspace_id: row.workspace_id.clone(),
        bot_user_id: row.bot_user_id.clone().unwrap_or_default(),
        event_types: row.event_types.clone(),
        channel_ids: row.channel_ids.clone(),
        callback_url: row.callback_url.clone(),
        created_by: row.created_by.clone(),
        created_at: rfc3339(&row.created_at),
        revoked_at: row.revoked_at.as_ref().map(rfc3339),
        disabled_at: row.disabled_at.as_ref().map(rfc3339),
        disabled_reason: row.disabled_reason.clone(),
        failing_since: row.failing_since.as_ref().map(rfc3339),
        previous_secret_until: row
            .previous_secret_until
            .filter(|until| *until > now)
            .as_ref()
            .map(rfc3339),
        pending: count,
        oldest_pending_seconds: oldest.map_or(0, |at| (now - at).num_seconds().max(0)),
    }
}

#[tonic::async_trait]
impl WebhooksService for WebhooksApi {
    async fn create_subscription(
        &self,
        request: Request<pb::CreateSubscriptionRequest>,
    ) -> Reply<pb::SubscriptionWithSecret> {
        let manager = manager_of(&request)?;
        let input = request.into_inner();
        let workspace_id = acting_workspace(&manager, &input.workspace_id)?;
        if !ids::has_prefix(&workspace_id, ids::WORKSPACE) {
            return Err(status(Code::InvalidArgument, "workspace_id is required"));
        }
        // Who it reads for: a bot caller reads for itself; anyone else for
        // the bot named, or (a member) for themself.
        let Attribution {
            bot_user_id,
            created_by,
        } = manager.attribute(&input.bot_user_id).map_err(refused)?;
        if bot_user_id.is_none() && matches!(manager, Manager::Operator) {
            return Err(status(
                Code::InvalidArgument,
                "bot_user_id is required: an operator makes subscriptions for a bot",
            ));
        }
        let owners = match &bot_user_id {
            Some(bot) => {
                let facts = self.bot_of(&workspace_id, bot).await?;
                facts
                    .owner
                    .map(|owner| (bot.clone(), owner))
                    .into_iter()
                    .collect()
            }
            None => HashMap::new(),
        };
        let interest = Interest::new(&input.event_types, &input.channel_ids)
            .map_err(|error| status(Code::InvalidArgument, error.to_string()))?;
        let url = self
            .policy
            .check_url(&input.callback_url)
            .map_err(|error| status(Code::InvalidArgument, error.to_string()))?;
        let id = ids::new_id(ids::EVENT_SUBSCRIPTION);
        let secret = SigningSecret::generate();
        let row = SubscriptionRow {
            sealed_secret: self.sealer.seal(&id, secret.expose()),
            id,
            workspace_id: workspace_id.clone(),
            bot_user_id,
            callback_url: url.to_string(),
            event_types: interest.event_types,
            channel_ids: interest.channel_ids,
            previous_sealed_secret: None,
            previous_secret_until: None,
            created_by,
            created_at: Utc::now(),
            revoked_at: None,
            disabled_at: None,
            disabled_reason: None,
            failing_since: None,
            owner_told_at: None,
        };
        manager
            .may_manage(row.readership(&owners))
            .map_err(refused)?;
        let quota = self.quota;
        let stored = self
            .with_conn(move |conn| {
                conn.transaction(|conn| {
                    let live = subscriptions::count_live_locked(conn, &row.workspace_id)?;
                    if live >= quota {
                        return Err(WebhooksError::Refused(status(
                            Code::FailedPrecondition,
                            format!(
                                "a workspace holds at most {quota} live event subscriptions; revoke one first"
                            ),
                        )));
                    }
                    Ok(subscriptions::insert(conn, &row)?)
                })
            })
            .await?;
        tracing::info!(subscription = %stored.id, workspace = %stored.workspace_id, "event subscription created");
        Ok(with_secret(&stored, &secret))
    }

    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Reply<pb::SubscriptionList> {
        let manager = manager_of(&request)?;
        let input = request.into_inner();
        let workspace_id = acting_workspace(&manager, &input.workspace_id)?;
        let include_ended = input.include_ended;
        let rows = self
            .with_conn(move |conn| Ok(subscriptions::list_in(conn, &workspace_id, include_ended)?))
            .await?;
        let rows: Vec<SubscriptionRow> = rows
            .into_iter()
            .filter(|row| {
                input
                    .bot_user_id
                    .as_deref()
                    .is_none_or(|bot| row.bot_user_id.as_deref() == Some(bot))
            })
            .collect();
        let bots: Vec<String> = rows
            .iter()
            .filter_map(|row| row.bot_user_id.clone())
            .collect();
        let owners = self.owners_for(&manager, bots).await?;
        let mine: Vec<SubscriptionRow> = rows
            .into_iter()
            .filter(|row| manager.may_manage(row.readership(&owners)).is_ok())
            .collect();
        Ok(Response::new(pb::SubscriptionList {
            subscriptions: self.described(mine).await?,
        }))
    }

    async fn get_subscription(
        &self,
        request: Request<pb::SubscriptionRef>,
    ) -> Reply<pb::Subscription> {
        let manager = manager_of(&request)?;
        let row = self.authorized(&manager, &request.get_ref().id).await?;
        let mut described = self.described(vec![row]).await?;
        Ok(Response::new(described.remove(0)))
    }

    async fn locate_subscription(
        &self,
        request: Request<pb::SubscriptionRef>,
    ) -> Reply<pb::SubscriptionLocation> {
        let id = request.into_inner().id;
        // Incoming webhooks and slash commands are located the same way.
        let workspace_id = if ids::has_prefix(&id, ids::INCOMING_HOOK) {
            self.with_conn(move |conn| Ok(crate::store::incoming::find(conn, &id)?))
                .await?
                .map(|row| row.workspace_id)
        } else if ids::has_prefix(&id, ids::SLASH_COMMAND) {
            self.with_conn(move |conn| Ok(crate::store::slash_commands::find(conn, &id)?))
                .await?
                .map(|row| row.workspace_id)
        } else {
            self.with_conn(move |conn| Ok(subscriptions::find(conn, &id)?))
                .await?
                .map(|row| row.workspace_id)
        };
        Ok(Response::new(pb::SubscriptionLocation {
            workspace_id: workspace_id.ok_or_else(not_found)?,
        }))
    }

    async fn revoke_subscription(
        &self,
        request: Request<pb::SubscriptionRef>,
    ) -> Reply<pb::Subscription> {
        let manager = manager_of(&request)?;
        let row = self.authorized(&manager, &request.get_ref().id).await?;
        let revoked = self
            .with_conn(move |conn| Ok(subscriptions::revoke(conn, &row.id)?))
            .await?;
        tracing::info!(subscription = %revoked.id, "event subscription revoked");
        let mut described = self.described(vec![revoked]).await?;
        Ok(Response::new(described.remove(0)))
    }

    async fn rotate_secret(
        &self,
        request: Request<pb::RotateSecretRequest>,
    ) -> Reply<pb::SubscriptionWithSecret> {
        let manager = manager_of(&request)?;
        let row = self.authorized(&manager, &request.get_ref().id).await?;
        if row.revoked_at.is_some() {
            return Err(status(
                Code::FailedPrecondition,
                "this subscription was revoked",
            ));
        }
        let overlap = match request.get_ref().overlap_seconds {
            0 => DEFAULT_OVERLAP,
            seconds if seconds <= MAX_OVERLAP_SECONDS => TimeDelta::seconds(i64::from(seconds)),
            _ => {
                return Err(status(
                    Code::InvalidArgument,
                    "overlap_seconds is at most 604800 (7 days)",
                ));
            }
        };
        let secret = SigningSecret::generate();
        let sealed = self.sealer.seal(&row.id, secret.expose());
        let until = Utc::now() + overlap;
        let rotated = self
            .with_conn(move |conn| Ok(subscriptions::rotate_secret(conn, &row.id, &sealed, until)?))
            .await?;
        tracing::info!(subscription = %rotated.id, "event subscription secret rotated");
        Ok(with_secret(&rotated, &secret))
    }

    async fn list_delivery_attempts(
        &self,
        request: Request<pb::ListDeliveryAttemptsRequest>,
    ) -> Reply<pb::DeliveryAttemptList> {
        let manager = manager_of(&request)?;
        let row = self.authorized(&manager, &request.get_ref().id).await?;
        let input = request.into_inner();
        let limit = match input.limit {
            0 => DEFAULT_PAGE,
            asked => asked.min(MAX_PAGE),
        };
        let subscription_id = row.id.clone();
        let before = input.before.filter(|before| !before.is_empty());
        let mut lines = self
            .with_conn(move |conn| {
                Ok(queue::recent_attempts_with_bodies(
                    conn,
                    &subscription_id,
                    i64::from(limit) + 1,
                    before.as_deref(),
                )?)
            })
            .await?;
        let next_cursor = if lines.len() > limit as usize {
            lines.truncate(limit as usize);
            lines.last().map(|last| last.line.id.clone())
        } else {
            None
        };
        let attempts = lines
            .into_iter()
            .map(|logged| {
                let event_type = serde_json::from_str::<serde_json::Value>(&logged.body)
                    .ok()
                    .and_then(|body| body["event"]["type"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                let line = logged.line;
                let completed =
                    line.attempted_at + TimeDelta::milliseconds(i64::from(line.latency_ms));
                pb::DeliveryAttempt {
                    id: line.id,
                    subscription_id: line.subscription_id,
                    event_id: line.event_id,
                    workspace_id: row.workspace_id.clone(),
                    event_type,
                    attempt: line.attempt,
                    request_json: logged.body,
                    response_status: line.response_status,
                    response_body: line.response_body,
                    error: line.error,
                    latency_ms: line.latency_ms,
                    created_at: rfc3339(&line.attempted_at),
                    completed_at: rfc3339(&completed),
                    delivery_state: match logged.state.as_str() {
                        "sending" | "pending" if line.attempt > 0 => "retrying".into(),
                        other => other.to_owned(),
                    },
                }
            })
            .collect();
        Ok(Response::new(pb::DeliveryAttemptList {
            attempts,
            next_cursor,
        }))
    }

    async fn redeliver(
        &self,
        request: Request<pb::RedeliverRequest>,
    ) -> Reply<pb::RedeliverResponse> {
        let manager = manager_of(&request)?;
        let row = self.authorized(&manager, &request.get_ref().id).await?;
        require_live(&row)?;
        let what = request.into_inner().what;
        let after = match &what {
            Some(pb::redeliver_request::What::AfterCursor(cursor)) => Some(
                clickclack_common::cursor::decode(cursor)
                    .ok_or_else(|| status(Code::InvalidArgument, "after_cursor is not a cursor"))?,
            ),
            _ => None,
        };
        let event_id = match what {
            Some(pb::redeliver_request::What::EventId(id)) if !id.trim().is_empty() => {
                Some(id.trim().to_owned())
            }
            Some(pb::redeliver_request::What::AfterCursor(_)) => None,
            _ => {
                return Err(status(
                    Code::InvalidArgument,
                    "name an event_id or an after_cursor to deliver again",
                ));
            }
        };
        let queued = self
            .with_conn(move |conn| {
                let which = match (&event_id, after) {
                    (Some(id), _) => Requeue::Event(id),
                    (None, Some(position)) => Requeue::After(position),
                    (None, None) => unreachable!("checked above"),
                };
                let queued = queue::requeue(conn, &row.id, which)?;
                if queued == 0
                    && let Some(id) = &event_id
                {
                    return Err(WebhooksError::Refused(status(
                        Code::NotFound,
                        format!(
                            "{} was never queued for this subscription, or its delivery is under way or older than 7 days",
                            clickclack_common::grpc::prefix_within(id, 64)
                        ),
                    )));
                }
                Ok(queued)
            })
            .await?;
        self.wake.notify_one();
        Ok(Response::new(pb::RedeliverResponse {
            queued: u32::try_from(queued).unwrap_or(u32::MAX),
        }))
    }

    async fn create_incoming_hook(
        &self,
        request: Request<pb::CreateIncomingHookRequest>,
    ) -> Reply<pb::IncomingHookWithSecret> {
        self.create_incoming(request).await
    }

    async fn list_incoming_hooks(
        &self,
        request: Request<pb::ListIncomingHooksRequest>,
    ) -> Reply<pb::IncomingHookList> {
        self.list_incoming(request).await
    }

    async fn revoke_incoming_hook(
        &self,
        request: Request<pb::IncomingHookRef>,
    ) -> Reply<pb::IncomingHook> {
        self.revoke_incoming(request).await
    }

    async fn resolve_incoming_hook(
        &self,
        request: Request<pb::ResolveIncomingHookRequest>,
    ) -> Reply<pb::IncomingHook> {
        self.resolve_incoming(request).await
    }

    async fn create_slash_command(
        &self,
        request: Request<pb::CreateSlashCommandRequest>,
    ) -> Reply<pb::SlashCommandWithSecret> {
        self.create_command(request).await
    }

    async fn list_slash_commands(
        &self,
        request: Request<pb::ListSlashCommandsRequest>,
    ) -> Reply<pb::SlashCommandList> {
        self.list_commands(request).await
    }

    async fn revoke_slash_command(
        &self,
        request: Request<pb::SlashCommandRef>,
    ) -> Reply<pb::SlashCommand> {
        self.revoke_command(request).await
    }

    async fn rotate_slash_command_secret(
        &self,
        request: Request<pb::SlashCommandRef>,
    ) -> Reply<pb::SlashCommandWithSecret> {
        self.rotate_command_secret(request).await
    }

    async fn list_invocations(
        &self,
        request: Request<pb::ListInvocationsRequest>,
    ) -> Reply<pb::InvocationList> {
        self.list_command_invocations(request).await
    }

    async fn invoke(&self, request: Request<pb::InvokeRequest>) -> Reply<pb::InvokeResult> {
        self.invoke_command(request).await
    }

    async fn await_ack(&self, request: Request<pb::InvocationRef>) -> Reply<pb::InvokeResult> {
        self.wait_for_ack(request).await
    }

    async fn redeem_response_token(
        &self,
        request: Request<pb::RedeemResponseTokenRequest>,
    ) -> Reply<pb::Invocation> {
        self.redeem_token(request).await
    }

    async fn set_interactivity(
        &self,
        request: Request<pb::SetInteractivityRequest>,
    ) -> Reply<pb::SlashCommandWithSecret> {
        WebhooksApi::set_interactivity(self, request).await
    }

    async fn get_interactivity(
        &self,
        request: Request<pb::InteractivityRef>,
    ) -> Reply<pb::SlashCommand> {
        WebhooksApi::get_interactivity(self, request).await
    }

    async fn remove_interactivity(
        &self,
        request: Request<pb::InteractivityRef>,
    ) -> Reply<pb::SlashCommand> {
        WebhooksApi::remove_interactivity(self, request).await
    }

    async fn invoke_action(
        &self,
        request: Request<pb::InvokeActionRequest>,
    ) -> Reply<pb::InvokeResult> {
        WebhooksApi::invoke_action(self, request).await
    }

    async fn send_test_event(
        &self,
        request: Request<pb::SubscriptionRef>,
    ) -> Reply<pb::RedeliverResponse> {
        let manager = manager_of(&request)?;
        let row = self.authorized(&manager, &request.get_ref().id).await?;
        require_live(&row)?;
        let event_id = ids::new_id(ids::EVENT);
        let event = json!({
            "id": event_id,
            "cursor": "",
            "type": TEST_EVENT_TYPE,
            "workspace_id": row.workspace_id,
            "created_at": rfc3339(&Utc::now()),
            "payload": { "subscription_id": row.id, "test": true },
        });
        let body = matching::body(&row.id, &event);
        self.with_conn(move |conn| {
            // After everything queued so far, so it goes out in its turn.
            let position = feed::position(conn)?.unwrap_or(0);
            Ok(queue::enqueue(
                conn,
                &[NewDelivery {
                    subscription_id: row.id.clone(),
                    event_id,
                    position,
                    body,
                }],
            )?)
        })
        .await?;
        self.wake.notify_one();
        Ok(Response::new(pb::RedeliverResponse { queued: 1 }))
    }
}

/// The type of the event "send test event" queues; never in the log.
pub const TEST_EVENT_TYPE: &str = "webhook.test";
