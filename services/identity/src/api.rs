//! gRPC handlers: translate protobuf to domain calls and rows back to
//! protobuf. No SQL and no rules live here.

use crate::changes::{self, AuthChanges};
use crate::domain::audit::Actor;
use crate::domain::rules::Role;
use crate::domain::{
    self, auth, bots, commands, members, self_service, sessions, setup_codes, workspaces,
};
use crate::error::IdentityError;
use crate::store::members::MemberRow;
use crate::store::tokens::BotTokenRow;
use crate::store::users::UserRow;
use crate::store::workspaces::WorkspaceRow;
use clickclack_common::assertion::{CallerKind, caller};
use clickclack_common::db::{self, PgPool};
use clickclack_common::outbox::Relay;
use clickclack_common::time::rfc3339;
use clickclack_common::token::RawToken;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_server::IdentityService;
use diesel::PgConnection;
use std::pin::Pin;
use std::sync::Arc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// How long a write waits for its events to reach realtime.
const PUBLISH_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

pub struct IdentityApi {
    pool: PgPool,
    relay: Arc<Relay>,
    changes: AuthChanges,
}

impl IdentityApi {
    pub fn new(pool: PgPool, relay: Arc<Relay>, changes: AuthChanges) -> Self {
        IdentityApi {
            pool,
            relay,
            changes,
        }
    }

    /// Like `with_conn`, for writes that record events: their events are
    /// delivered to realtime before the answer (bounded by a short wait), so
    /// a caller that acts next, such as a bot connecting with its new token,
    /// finds them already in the log rather than arriving late.
    async fn write<T, F>(&self, work: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, IdentityError> + Send + 'static,
    {
        let outcome = self.with_conn(work).await;
        self.relay.flush(PUBLISH_WAIT).await;
        outcome
    }

    /// Like `write`, for changes that may end credentials (revocation,
    /// rotation, removals, role changes, sign-out): answers only once every
    /// gateway has dropped what it cached, so the caller's next request with
    /// that credential is refused everywhere (DESIGN.md §4).
    async fn change_credentials<T, F>(&self, work: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, IdentityError> + Send + 'static,
    {
        let outcome = self.write(work).await?;
        self.changes.await_applied(&self.pool).await?;
        Ok(outcome)
    }

    /// Runs `work` with a pooled connection off the async runtime.
    async fn with_conn<T, F>(&self, work: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, IdentityError> + Send + 'static,
    {
        Ok(db::run(&self.pool, work).await?)
    }
}

type Reply<T> = Result<Response<T>, Status>;

/// Who a bot-management call acts as. A signed-in human acts as themselves,
/// whatever the request names; an operator acts for the deployment, or for
/// the user the request names (`--created-by`). Bots never manage bots.
fn acting<T>(request: &Request<T>, named: Option<String>) -> Result<Actor, Status> {
    let claims = caller(request)?;
    if claims.caller_kind() == Some(CallerKind::Operator) {
        return Ok(Actor::from_optional(named));
    }
    match claims.human() {
        Some(human) => Ok(Actor::User(human.to_owned())),
        None => Err(Status::permission_denied(
            "bot tokens cannot do this; sign in as a human",
        )),
    }
}
/// The signed-in human making the call; anyone else is refused.
fn required_human<T>(request: &Request<T>) -> Result<String, Status> {
    caller(request)?
        .human()
        .map(str::to_owned)
        .ok_or_else(|| Status::permission_denied("only a signed-in human can do this"))
}

type ChangeStream = Pin<Box<dyn Stream<Item = Result<pb::AuthChange, Status>> + Send>>;

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn authenticate(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Reply<pb::Principal> {
        let req = request.into_inner();
        let presented = RawToken::from_presented(req.token);
        let workspace = req.workspace;
        let found = self
            .with_conn(move |conn| auth::authenticate(conn, &presented, &workspace))
            .await?;
        Ok(Response::new(pb::Principal {
            workspace_id: found.workspace_id,
            scopes: found.scopes,
            token_id: found.credential_id,
            role: found.role,
            expires_at: found.expires_at.as_ref().map(rfc3339),
            credential: found.credential.into(),
            user: Some(user_pb(found.user)),
        }))
    }

    type WatchAuthChangesStream = ChangeStream;

    async fn watch_auth_changes(
        &self,
        request: Request<tonic::Streaming<pb::WatcherReport>>,
    ) -> Reply<ChangeStream> {
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        tokio::spawn(changes::serve_watcher(
            self.changes.clone(),
            self.pool.clone(),
            request.into_inner(),
            sender,
        ));
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        )))
    }

    async fn rotate_bot_token(
        &self,
        request: Request<pb::RotateBotTokenRequest>,
    ) -> Reply<pb::RotateBotTokenResponse> {
        let actor = acting(&request, request.get_ref().actor_user_id.clone())?;
        let req = request.into_inner();
        let grace = chrono::Duration::seconds(i64::from(req.grace_seconds));
        let rotation = self
            .change_credentials(move |conn| {
                bots::rotate_token(conn, &req.token_id, &req.workspace, grace, &actor)
            })
            .await?;
        tracing::info!(
            bot = %rotation.bot.id,
            token = %rotation.issued.row.id,
            replaced = %rotation.replaced.id,
            "rotated bot token"
        );
        let owner = rotation.bot.owner_user_id;
        Ok(Response::new(pb::RotateBotTokenResponse {
            bot_token: Some(token_pb(rotation.issued.row, owner.clone())),
            token: rotation.issued.raw.into_exposed(),
            replaced: Some(token_pb(rotation.replaced, owner)),
        }))
    }

    async fn remove_bot(
        &self,
        request: Request<pb::RemoveBotRequest>,
    ) -> Reply<pb::RemoveBotResponse> {
        let actor = acting(&request, request.get_ref().actor_user_id.clone())?;
        let req = request.into_inner();
        let (bot, revoked, workspace) = self
            .change_credentials(move |conn| {
                bots::remove_bot(conn, &req.workspace, &req.bot_user_id, &actor)
            })
            .await?;
        tracing::info!(bot = %bot.id, revoked, "removed bot from workspace");
        self.relay
            .publish_live(
                &workspace.id,
                "bot.membership_removed",
                serde_json::json!({ "bot_user_id": bot.id, "user_id": bot.id }),
            )
            .await;
        Ok(Response::new(pb::RemoveBotResponse {
            bot: Some(user_pb(bot)),
            revoked_tokens: revoked as u32,
        }))
    }

    async fn list_owned_bots(
        &self,
        request: Request<pb::ListOwnedBotsRequest>,
    ) -> Reply<pb::OwnedBotList> {
        let owner = match acting(&request, request.get_ref().owner_user_id.clone().into())? {
            Actor::User(id) => id,
            Actor::Operator => return Err(Status::invalid_argument("owner_user_id is required")),
        };
        let found = self
            .with_conn(move |conn| bots::list_owned(conn, &owner))
            .await?;
        Ok(Response::new(pb::OwnedBotList {
            bots: found
                .into_iter()
                .map(|(bot, workspace, active)| pb::OwnedBot {
                    bot: Some(user_pb(bot)),
                    workspace: Some(workspace_pb(workspace, None)),
                    active_token_count: active as u32,
                })
                .collect(),
        }))
    }

    async fn create_magic_link(
        &self,
        request: Request<pb::CreateMagicLinkRequest>,
    ) -> Reply<pb::CreateMagicLinkResponse> {
        let req = request.into_inner();
        let issued = self
            .with_conn(move |conn| {
                sessions::create_magic_link(conn, &req.email, &req.display_name, req.ttl_seconds)
            })
            .await?;
        tracing::info!(user = %issued.user.id, "issued magic link");
        Ok(Response::new(pb::CreateMagicLinkResponse {
            user: Some(user_pb(issued.user)),
            token: issued.raw.into_exposed(),
            expires_at: rfc3339(&issued.expires_at),
            user_created: issued.user_created,
        }))
    }

    async fn consume_magic_link(
        &self,
        request: Request<pb::ConsumeMagicLinkRequest>,
    ) -> Reply<pb::ConsumeMagicLinkResponse> {
        let presented = RawToken::from_presented(request.into_inner().token);
        let opened = self
            .with_conn(move |conn| sessions::consume_magic_link(conn, &presented))
            .await?;
        tracing::info!(user = %opened.user.id, "opened session");
        Ok(Response::new(pb::ConsumeMagicLinkResponse {
            user: Some(user_pb(opened.user)),
            session_token: opened.raw.into_exposed(),
            expires_at: rfc3339(&opened.expires_at),
        }))
    }

    async fn revoke_session(
        &self,
        request: Request<pb::RevokeSessionRequest>,
    ) -> Reply<pb::RevokeSessionResponse> {
        let presented = RawToken::from_presented(request.into_inner().token);
        let revoked = self
            .change_credentials(move |conn| sessions::revoke_session(conn, &presented))
            .await?;
        Ok(Response::new(pb::RevokeSessionResponse { revoked }))
    }

    async fn list_audit(&self, request: Request<pb::ListAuditRequest>) -> Reply<pb::AuditList> {
        let actor = acting(&request, request.get_ref().actor_user_id.clone())?;
        let req = request.into_inner();
        let (_, rows) = self
            .with_conn(move |conn| {
                domain::audit::list(conn, &req.workspace, &actor, req.limit, &req.before)
            })
            .await?;
        Ok(Response::new(pb::AuditList {
            entries: rows
                .into_iter()
                .map(|row| pb::AuditEntry {
                    id: row.id,
                    workspace_id: row.workspace_id,
                    actor_user_id: row.actor_user_id,
                    action: row.action,
                    target_id: row.target_id,
                    detail_json: row.detail.to_string(),
                    created_at: rfc3339(&row.created_at),
                })
                .collect(),
        }))
    }

    async fn set_bot_commands(
        &self,
        request: Request<pb::SetBotCommandsRequest>,
    ) -> Reply<pb::BotCommandList> {
        let claims = caller(&request)?;
        let req = request.into_inner();
        if !claims.is_bot() || claims.sub != req.bot_user_id || claims.wsp != req.workspace_id {
            return Err(Status::permission_denied(
                "only a bot may publish its own command menu",
            ));
        }
        let input = req
            .commands
            .into_iter()
            .map(|c| commands::CommandInput {
                command: c.command,
                description: c.description,
                args_hint: c.args_hint,
            })
            .collect();
        let (bot_user_id, workspace_id) = (req.bot_user_id.clone(), req.workspace_id.clone());
        let rows = self
            .with_conn(move |conn| {
                commands::set_commands(conn, &req.bot_user_id, &req.workspace_id, input)
            })
            .await?;
        self.relay
            .publish_live(
                &workspace_id,
                "bot_command.updated",
                serde_json::json!({ "bot_user_id": bot_user_id, "command_count": rows.len() }),
            )
            .await;
        Ok(Response::new(command_list_pb(rows)))
    }

    async fn list_bot_commands(
        &self,
        request: Request<pb::ListBotCommandsRequest>,
    ) -> Reply<pb::BotCommandList> {
        let key = request.into_inner().workspace;
        let rows = self
            .with_conn(move |conn| commands::list_commands(conn, &key))
            .await?;
        Ok(Response::new(command_list_pb(rows)))
    }

    async fn create_user(&self, request: Request<pb::CreateUserRequest>) -> Reply<pb::User> {
        let req = request.into_inner();
        let user = self
            .with_conn(move |conn| {
                domain::users::create_human(conn, &req.display_name, &req.email, &req.handle)
            })
            .await?;
        Ok(Response::new(user_pb(user)))
    }

    async fn get_user(&self, request: Request<pb::GetUserRequest>) -> Reply<pb::User> {
        let id = request.into_inner().id;
        let user = self
            .with_conn(move |conn| domain::require_user(conn, &id))
            .await?;
        Ok(Response::new(user_pb(user)))
    }

    async fn get_users(&self, request: Request<pb::GetUsersRequest>) -> Reply<pb::UserList> {
        let ids = request.into_inner().ids;
        let users = self
            .with_conn(move |conn| domain::users::find_many(conn, &ids))
            .await?;
        Ok(Response::new(pb::UserList {
            users: users.into_iter().map(user_pb).collect(),
        }))
    }

    async fn list_users(&self, _: Request<pb::ListUsersRequest>) -> Reply<pb::UserList> {
        let users = self.with_conn(domain::users::list).await?;
        Ok(Response::new(pb::UserList {
            users: users.into_iter().map(user_pb).collect(),
        }))
    }

    async fn create_workspace(
        &self,
        request: Request<pb::CreateWorkspaceRequest>,
    ) -> Reply<pb::Workspace> {
        // A signed-in human founds it and owns it; an operator makes an
        // empty one (and adds members with AddMember).
        // (A bot's assertion is refused here.)
        let founder = acting(&request, None)?.user_id().map(str::to_owned);
        let req = request.into_inner();
        let (workspace, role) = self
            .write(move |conn| match founder {
                Some(owner) => self_service::found_workspace(conn, &owner, &req.name, &req.slug)
                    .map(|w| (w, Some(Role::Owner.as_str().to_owned()))),
                None => workspaces::create_workspace(conn, &req.name, &req.slug).map(|w| (w, None)),
            })
            .await?;
        Ok(Response::new(workspace_pb(workspace, role)))
    }

    async fn get_workspace(
        &self,
        request: Request<pb::GetWorkspaceRequest>,
    ) -> Reply<pb::Workspace> {
        let key = request.into_inner().id_or_slug;
        let workspace = self
            .with_conn(move |conn| domain::resolve_workspace(conn, &key))
            .await?;
        Ok(Response::new(workspace_pb(workspace, None)))
    }

    async fn list_workspaces(
        &self,
        request: Request<pb::ListWorkspacesRequest>,
    ) -> Reply<pb::WorkspaceList> {
        let member = request.into_inner().member_user_id;
        let found = self
            .with_conn(move |conn| workspaces::list(conn, member.as_deref()))
            .await?;
        Ok(Response::new(pb::WorkspaceList {
            workspaces: found
                .into_iter()
                .map(|(workspace, role)| workspace_pb(workspace, role))
                .collect(),
        }))
    }

    async fn update_workspace(
        &self,
        request: Request<pb::UpdateWorkspaceRequest>,
    ) -> Reply<pb::Workspace> {
        let actor = acting(&request, None)?;
        let req = request.into_inner();
        let workspace = self
            .write(move |conn| {
                workspaces::update_workspace(
                    conn,
                    &req.workspace,
                    &actor,
                    req.name.as_deref(),
                    req.slug.as_deref(),
                    req.icon_url.as_deref(),
                )
            })
            .await?;
        Ok(Response::new(workspace_pb(workspace, None)))
    }

    async fn update_profile(&self, request: Request<pb::UpdateProfileRequest>) -> Reply<pb::User> {
        let user_id = required_human(&request)?;
        let req = request.into_inner();
        let user = self
            .change_credentials(move |conn| {
                self_service::update_profile(
                    conn,
                    &user_id,
                    req.display_name.as_deref(),
                    req.handle.as_deref(),
                    req.avatar_url.as_deref(),
                )
            })
            .await?;
        Ok(Response::new(user_pb(user)))
    }

    async fn delete_workspace(
        &self,
        request: Request<pb::DeleteWorkspaceRequest>,
    ) -> Reply<pb::Workspace> {
        let user_id = required_human(&request)?;
        let key = request.into_inner().workspace;
        let workspace = self
            .change_credentials(move |conn| self_service::delete_workspace(conn, &user_id, &key))
            .await?;
        Ok(Response::new(workspace_pb(workspace, None)))
    }

    async fn transfer_ownership(
        &self,
        request: Request<pb::TransferOwnershipRequest>,
    ) -> Reply<pb::Workspace> {
        let user_id = required_human(&request)?;
        let req = request.into_inner();
        let workspace = self
            .change_credentials(move |conn| {
                self_service::transfer_ownership(conn, &user_id, &req.workspace, &req.user_id)
            })
            .await?;
        Ok(Response::new(workspace_pb(
            workspace,
            Some(Role::Moderator.as_str().into()),
        )))
    }

    async fn create_invite(
        &self,
        request: Request<pb::CreateInviteRequest>,
    ) -> Reply<pb::CreateInviteResponse> {
        let user_id = required_human(&request)?;
        let key = request.into_inner().workspace;
        let (invite, secret) = self
            .with_conn(move |conn| self_service::create_invite(conn, &user_id, &key))
            .await?;
        Ok(Response::new(pb::CreateInviteResponse {
            id: invite.id,
            token: secret.into_exposed(),
            expires_at: rfc3339(&invite.expires_at),
            workspace_id: invite.workspace_id,
        }))
    }

    async fn accept_invite(
        &self,
        request: Request<pb::AcceptInviteRequest>,
    ) -> Reply<pb::Workspace> {
        let user_id = required_human(&request)?;
        let presented = RawToken::from_presented(request.into_inner().token);
        let (workspace, member) = self
            .change_credentials(move |conn| self_service::accept_invite(conn, &user_id, &presented))
            .await?;
        Ok(Response::new(workspace_pb(workspace, Some(member.role))))
    }

    async fn add_member(&self, request: Request<pb::AddMemberRequest>) -> Reply<pb::Member> {
        let req = request.into_inner();
        let (member, user) = self
            .change_credentials(move |conn| {
                members::add_member(conn, &req.workspace, &req.user_id, &req.role)
            })
            .await?;
        Ok(Response::new(member_pb(member, user)))
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Reply<pb::RemoveMemberResponse> {
        let req = request.into_inner();
        let (member, user) = self
            .change_credentials(move |conn| {
                members::remove_member(conn, &req.workspace, &req.user_id)
            })
            .await?;
        Ok(Response::new(pb::RemoveMemberResponse {
            removed: Some(member_pb(member, user)),
        }))
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Reply<pb::MemberList> {
        let key = request.into_inner().workspace;
        let (_, found) = self
            .with_conn(move |conn| members::list_members(conn, &key))
            .await?;
        Ok(Response::new(pb::MemberList {
            members: found
                .into_iter()
                .map(|(member, user)| member_pb(member, user))
                .collect(),
        }))
    }

    async fn get_membership(
        &self,
        request: Request<pb::GetMembershipRequest>,
    ) -> Reply<pb::Member> {
        let req = request.into_inner();
        let found = self
            .with_conn(move |conn| {
                domain::members::find_member(conn, &req.workspace_id, &req.user_id)
            })
            .await?;
        let (member, user) =
            found.ok_or_else(|| Status::not_found("not a member of this workspace"))?;
        Ok(Response::new(member_pb(member, user)))
    }

    async fn bootstrap(
        &self,
        request: Request<pb::BootstrapRequest>,
    ) -> Reply<pb::BootstrapResponse> {
        let req = request.into_inner();
        let (workspace, owner) = self
            .write(move |conn| {
                workspaces::bootstrap(
                    conn,
                    &req.owner_display_name,
                    &req.owner_email,
                    &req.workspace_name,
                    &req.workspace_slug,
                )
            })
            .await?;
        Ok(Response::new(pb::BootstrapResponse {
            workspace: Some(workspace_pb(workspace, Some(Role::Owner.as_str().into()))),
            owner: Some(user_pb(owner)),
        }))
    }

    async fn create_bot(
        &self,
        request: Request<pb::CreateBotRequest>,
    ) -> Reply<pb::CreateBotResponse> {
        let created_by = acting(&request, request.get_ref().created_by.clone())?
            .user_id()
            .map(str::to_owned);
        let req = request.into_inner();
        let new = bots::NewBot {
            workspace: req.workspace,
            display_name: req.display_name,
            handle: req.handle,
            avatar_url: req.avatar_url,
            owner_user_id: req.owner_user_id,
            created_by,
            scopes: req.scopes,
            token_name: req.token_name,
        };
        let (bot, issued) = self.write(move |conn| bots::create_bot(conn, new)).await?;
        tracing::info!(bot = %bot.id, token = %issued.row.id, "created bot");
        let owner = bot.owner_user_id.clone();
        Ok(Response::new(pb::CreateBotResponse {
            bot: Some(user_pb(bot)),
            bot_token: Some(token_pb(issued.row, owner)),
            token: issued.raw.into_exposed(),
        }))
    }

    async fn list_bots(&self, request: Request<pb::ListBotsRequest>) -> Reply<pb::BotList> {
        let actor = acting(&request, request.get_ref().actor_user_id.clone())?;
        let req = request.into_inner();
        let found = self
            .with_conn(move |conn| bots::list_bots(conn, &req.workspace, &actor))
            .await?;
        Ok(Response::new(pb::BotList {
            bots: found
                .into_iter()
                .map(|(bot, tokens)| {
                    let owner = bot.owner_user_id.clone();
                    pb::BotWithTokens {
                        tokens: tokens
                            .into_iter()
                            .map(|t| token_pb(t, owner.clone()))
                            .collect(),
                        bot: Some(user_pb(bot)),
                    }
                })
                .collect(),
        }))
    }

    async fn create_bot_token(
        &self,
        request: Request<pb::CreateBotTokenRequest>,
    ) -> Reply<pb::CreateBotTokenResponse> {
        let created_by = acting(&request, request.get_ref().created_by.clone())?
            .user_id()
            .map(str::to_owned);
        let req = request.into_inner();
        let (bot, issued) = self
            .with_conn(move |conn| {
                bots::create_token(
                    conn,
                    &req.workspace,
                    &req.bot_user_id,
                    &req.name,
                    &req.scopes,
                    created_by,
                )
            })
            .await?;
        tracing::info!(bot = %bot.id, token = %issued.row.id, "minted bot token");
        Ok(Response::new(pb::CreateBotTokenResponse {
            bot_token: Some(token_pb(issued.row, bot.owner_user_id)),
            token: issued.raw.into_exposed(),
        }))
    }

    async fn create_setup_code(
        &self,
        request: Request<pb::CreateSetupCodeRequest>,
    ) -> Reply<pb::CreateSetupCodeResponse> {
        let created_by = acting(&request, request.get_ref().created_by.clone())?
            .user_id()
            .map(str::to_owned);
        let req = request.into_inner();
        let defaults = if req.defaults_json.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&req.defaults_json)
                .map_err(|_| Status::invalid_argument("defaults must be a JSON object"))?
        };
        let new = setup_codes::NewSetupCode {
            workspace: req.workspace,
            bot_user_id: req.bot_user_id,
            token_name: req.token_name,
            scopes: req.scopes,
            defaults,
            created_by,
        };
        let (row, code) = self
            .with_conn(move |conn| setup_codes::create(conn, new))
            .await?;
        tracing::info!(bot = %row.bot_user_id, setup_code = %row.id, "minted bot setup code");
        Ok(Response::new(pb::CreateSetupCodeResponse {
            code: clickclack_common::token::display_setup_code(&code),
            setup_code: Some(setup_code_pb(row)),
        }))
    }

    async fn list_setup_codes(
        &self,
        request: Request<pb::ListSetupCodesRequest>,
    ) -> Reply<pb::SetupCodeList> {
        let actor = acting(&request, request.get_ref().actor_user_id.clone())?
            .user_id()
            .map(str::to_owned);
        let req = request.into_inner();
        let rows = self
            .with_conn(move |conn| setup_codes::list(conn, &req.workspace, &req.bot_user_id, actor))
            .await?;
        Ok(Response::new(pb::SetupCodeList {
            setup_codes: rows.into_iter().map(setup_code_pb).collect(),
        }))
    }

    async fn revoke_setup_code(
        &self,
        request: Request<pb::RevokeSetupCodeRequest>,
    ) -> Reply<pb::SetupCode> {
        let actor = acting(&request, request.get_ref().actor_user_id.clone())?
            .user_id()
            .map(str::to_owned);
        let id = request.into_inner().setup_code_id;
        let row = self
            .with_conn(move |conn| setup_codes::revoke(conn, &id, actor))
            .await?;
        Ok(Response::new(setup_code_pb(row)))
    }

    async fn claim_setup_code(
        &self,
        request: Request<pb::ClaimSetupCodeRequest>,
    ) -> Reply<pb::ClaimSetupCodeResponse> {
        let typed = request.into_inner().code;
        let claimed = self
            .with_conn(move |conn| setup_codes::claim(conn, &typed))
            .await?;
        tracing::info!(bot = %claimed.bot.id, token = %claimed.token.row.id, "claimed bot setup code");
        Ok(Response::new(pb::ClaimSetupCodeResponse {
            setup_code_id: claimed.setup_code_id,
            token: claimed.token.raw.into_exposed(),
            bot: Some(user_pb(claimed.bot)),
            workspace: Some(workspace_pb(
                claimed.workspace,
                Some(Role::Bot.as_str().into()),
            )),
            defaults_json: claimed.defaults.to_string(),
        }))
    }

    async fn list_bot_tokens(
        &self,
        request: Request<pb::ListBotTokensRequest>,
    ) -> Reply<pb::BotTokenList> {
        let actor = acting(&request, request.get_ref().actor_user_id.clone())?;
        let req = request.into_inner();
        let (bot, tokens) = self
            .with_conn(move |conn| {
                bots::list_tokens(conn, &req.workspace, &req.bot_user_id, &actor)
            })
            .await?;
        Ok(Response::new(pb::BotTokenList {
            bot_tokens: tokens
                .into_iter()
                .map(|t| token_pb(t, bot.owner_user_id.clone()))
                .collect(),
        }))
    }

    async fn revoke_bot_token(
        &self,
        request: Request<pb::RevokeBotTokenRequest>,
    ) -> Reply<pb::BotToken> {
        let actor = acting(&request, request.get_ref().actor_user_id.clone())?;
        let req = request.into_inner();
        let (bot, token) = self
            .change_credentials(move |conn| {
                bots::revoke_token(conn, &req.token_id, &req.workspace, &actor)
            })
            .await?;
        tracing::info!(bot = %bot.id, token = %token.id, "revoked bot token");
        Ok(Response::new(token_pb(token, bot.owner_user_id)))
    }
}

fn user_pb(user: UserRow) -> pb::User {
    pb::User {
        id: user.id,
        kind: user.kind,
        display_name: user.display_name,
        handle: user.handle,
        avatar_url: user.avatar_url,
        created_at: rfc3339(&user.created_at),
        owner_user_id: user.owner_user_id,
        email: user.email,
    }
}

fn workspace_pb(workspace: WorkspaceRow, role: Option<String>) -> pb::Workspace {
    pb::Workspace {
        id: workspace.id,
        slug: workspace.slug,
        name: workspace.name,
        icon_url: workspace.icon_url,
        created_at: rfc3339(&workspace.created_at),
        role,
    }
}

fn member_pb(member: MemberRow, user: UserRow) -> pb::Member {
    pb::Member {
        workspace_id: member.workspace_id,
        role: member.role,
        joined_at: rfc3339(&member.joined_at),
        user: Some(user_pb(user)),
    }
}

fn token_pb(token: BotTokenRow, owner_user_id: Option<String>) -> pb::BotToken {
    pb::BotToken {
        id: token.id,
        bot_user_id: token.bot_user_id,
        workspace_id: token.workspace_id,
        owner_user_id,
        name: token.name,
        scopes: token.scopes,
        created_by: token.created_by,
        created_at: rfc3339(&token.created_at),
        last_used_at: token.last_used_at.as_ref().map(rfc3339),
        revoked_at: token.revoked_at.as_ref().map(rfc3339),
        replaces_token_id: token.replaces_token_id,
    }
}

fn setup_code_pb(row: crate::store::setup_codes::SetupCodeRow) -> pb::SetupCode {
    pb::SetupCode {
        id: row.id,
        bot_user_id: row.bot_user_id,
        workspace_id: row.workspace_id,
        token_name: row.token_name,
        scopes: row.scopes,
        defaults_json: row.defaults.to_string(),
        created_by: row.created_by,
        created_at: rfc3339(&row.created_at),
        expires_at: rfc3339(&row.expires_at),
        claimed_at: row.claimed_at.as_ref().map(rfc3339),
    }
}

fn command_list_pb(rows: Vec<crate::store::commands::BotCommandRow>) -> pb::BotCommandList {
    pb::BotCommandList {
        bot_commands: rows
            .into_iter()
            .map(|row| pb::BotCommand {
                bot_user_id: row.bot_user_id,
                command: row.command,
                description: row.description,
                args_hint: row.args_hint,
                id: row.id,
                workspace_id: row.workspace_id,
                created_at: rfc3339(&row.created_at),
                updated_at: rfc3339(&row.updated_at),
            })
            .collect(),
    }
}
