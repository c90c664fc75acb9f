//! Incoming webhooks: a URL whose secret segment lets anyone holding it
//! post into one channel as one bot. Managed by whoever may manage the
//! bot's subscriptions; resolved by the gateway on every POST.

use super::{ForBot, Reply, WebhooksApi, acting_workspace, manager_of, refused};
use crate::store::incoming::{self, IncomingHookRow};
use aws_lc_rs::constant_time;
use chrono::Utc;
use clickclack_common::grpc::status;
use clickclack_common::ids;
use clickclack_common::time::rfc3339;
use clickclack_common::token::RawToken;
use clickclack_proto::webhooks as pb;
use tonic::{Code, Request, Response, Status};

/// Prefix of an incoming hook's secret path segment.
const SECRET_PREFIX: &str = "cch_";
const MAX_NAME: usize = 80;

fn hash(secret: &str) -> Vec<u8> {
    RawToken::from_presented(secret).hash().as_bytes().to_vec()
}

fn describe(row: &IncomingHookRow) -> pb::IncomingHook {
    pb::IncomingHook {
        id: row.id.clone(),
        workspace_id: row.workspace_id.clone(),
        channel_id: row.channel_id.clone(),
        bot_user_id: row.bot_user_id.clone(),
        name: row.name.clone(),
        created_by: row.created_by.clone(),
        created_at: rfc3339(&row.created_at),
        revoked_at: row.revoked_at.as_ref().map(rfc3339),
        last_used_at: row.last_used_at.as_ref().map(rfc3339),
    }
}

impl WebhooksApi {
    /// The hook `id` if the caller may manage its bot.
    async fn managed_hook(
        &self,
        manager: &super::Manager,
        id: &str,
    ) -> Result<IncomingHookRow, Status> {
        let id = id.to_owned();
        let row = self
            .with_conn(move |conn| Ok(incoming::find(conn, &id)?))
            .await?
            .ok_or_else(|| Status::not_found("incoming webhook not found"))?;
        self.manageable(manager, row, refused).await
    }

    pub(super) async fn create_incoming(
        &self,
        request: Request<pb::CreateIncomingHookRequest>,
    ) -> Reply<pb::IncomingHookWithSecret> {
        let manager = manager_of(&request)?;
        let input = request.into_inner();
        let workspace_id = acting_workspace(&manager, &input.workspace_id)?;
        let channel_id = input.channel_id.trim().to_owned();
        if !ids::has_prefix(&channel_id, ids::CHANNEL) {
            return Err(status(
                Code::InvalidArgument,
                "channel_id is required (chn_...)",
            ));
        }
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(status(
                Code::InvalidArgument,
                "name is required (at most 80 characters)",
            ));
        }
        let (bot_user_id, created_by) = self
            .attributed(&manager, &workspace_id, &input.bot_user_id, refused)
            .await?;
        let secret = RawToken::generate(SECRET_PREFIX).into_exposed();
        let row = IncomingHookRow {
            id: ids::new_id(ids::INCOMING_HOOK),
            workspace_id,
            channel_id,
            bot_user_id,
            name,
            secret_hash: hash(&secret),
            created_by,
            created_at: Utc::now(),
            revoked_at: None,
            last_used_at: None,
        };
        let stored = self
            .with_conn(move |conn| Ok(incoming::insert(conn, &row)?))
            .await?;
        tracing::info!(hook = %stored.id, "incoming webhook created");
        Ok(Response::new(pb::IncomingHookWithSecret {
            hook: Some(describe(&stored)),
            secret,
        }))
    }

    pub(super) async fn list_incoming(
        &self,
        request: Request<pb::ListIncomingHooksRequest>,
    ) -> Reply<pb::IncomingHookList> {
        let manager = manager_of(&request)?;
        let input = request.into_inner();
        let workspace_id = acting_workspace(&manager, &input.workspace_id)?;
        let rows = self
            .with_conn(move |conn| Ok(incoming::live_in(conn, &workspace_id)?))
            .await?;
        let rows: Vec<IncomingHookRow> = rows
            .into_iter()
            .filter(|row| {
                input
                    .bot_user_id
                    .as_deref()
                    .is_none_or(|bot| row.bot_user_id == bot)
            })
            .collect();
        let owners = self
            .owners_for(
                &manager,
                rows.iter().map(|row| row.bot_user_id.clone()).collect(),
            )
            .await?;
        Ok(Response::new(pb::IncomingHookList {
            hooks: rows
                .iter()
                .filter(|row| manager.may_manage(row.readership(&owners)).is_ok())
                .map(describe)
                .collect(),
        }))
    }

    pub(super) async fn revoke_incoming(
        &self,
        request: Request<pb::IncomingHookRef>,
    ) -> Reply<pb::IncomingHook> {
        let manager = manager_of(&request)?;
        let row = self.managed_hook(&manager, &request.get_ref().id).await?;
        let revoked = self
            .with_conn(move |conn| Ok(incoming::revoke(conn, &row.id)?))
            .await?;
        tracing::info!(hook = %revoked.id, "incoming webhook revoked");
        Ok(Response::new(describe(&revoked)))
    }

    pub(super) async fn resolve_incoming(
        &self,
        request: Request<pb::ResolveIncomingHookRequest>,
    ) -> Reply<pb::IncomingHook> {
        let input = request.into_inner();
        let id = input.id.clone();
        let row = self
            .with_conn(move |conn| Ok(incoming::find(conn, &id)?))
            .await?
            .filter(|row| row.revoked_at.is_none())
            .filter(|row| {
                constant_time::verify_slices_are_equal(&row.secret_hash, &hash(&input.secret))
                    .is_ok()
            })
            .ok_or_else(|| Status::not_found("no such incoming webhook"))?;
        if !self
            .bot_may_act(&row.workspace_id, &row.bot_user_id)
            .await?
        {
            return Err(not_found_hook());
        }
        let id = row.id.clone();
        self.with_conn(move |conn| Ok(incoming::touch(conn, &id)?))
            .await?;
        Ok(Response::new(describe(&row)))
    }
}

fn not_found_hook() -> Status {
    Status::not_found("no such incoming webhook")
}

super::for_one_bot!(IncomingHookRow);
