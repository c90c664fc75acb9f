//! gRPC handlers: translate protobuf to domain calls and rows back to
//! protobuf. No SQL and no rules live here.

use crate::domain::{self, auth, bots, members, workspaces};
use crate::error::IdentityError;
use crate::store;
use crate::store::members::MemberRow;
use crate::store::tokens::BotTokenRow;
use crate::store::users::UserRow;
use crate::store::workspaces::WorkspaceRow;
use clickclack_common::db::{self, PgPool};
use clickclack_common::outbox::Relay;
use clickclack_common::time::rfc3339;
use clickclack_common::token::RawToken;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_server::IdentityService;
use diesel::PgConnection;
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct IdentityApi {
    pool: PgPool,
    relay: Arc<Relay>,
}

impl IdentityApi {
    pub fn new(pool: PgPool, relay: Arc<Relay>) -> Self {
        IdentityApi { pool, relay }
    }

    /// Like `with_conn`, for writes that record events: the relay is woken
    /// to deliver them.
    async fn write<T, F>(&self, work: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, IdentityError> + Send + 'static,
    {
        let outcome = self.with_conn(work).await;
        self.relay.wake();
        outcome
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

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn authenticate(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Reply<pb::Principal> {
        let presented = RawToken::from_presented(request.into_inner().token);
        let found = self
            .with_conn(move |conn| auth::authenticate(conn, &presented))
            .await?;
        Ok(Response::new(pb::Principal {
            workspace_id: found.token.workspace_id.clone(),
            scopes: found.token.scopes.clone(),
            token_id: found.token.id.clone(),
            user: Some(user_pb(found.bot)),
        }))
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
        if ids.len() > 1000 {
            return Err(Status::invalid_argument("at most 1000 ids per call"));
        }
        let users = self
            .with_conn(move |conn| Ok(store::users::find_many(conn, &ids)?))
            .await?;
        Ok(Response::new(pb::UserList {
            users: users.into_iter().map(user_pb).collect(),
        }))
    }

    async fn list_users(&self, _: Request<pb::ListUsersRequest>) -> Reply<pb::UserList> {
        let users = self.with_conn(|conn| Ok(store::users::list(conn)?)).await?;
        Ok(Response::new(pb::UserList {
            users: users.into_iter().map(user_pb).collect(),
        }))
    }

    async fn create_workspace(
        &self,
        request: Request<pb::CreateWorkspaceRequest>,
    ) -> Reply<pb::Workspace> {
        let req = request.into_inner();
        let workspace = self
            .with_conn(move |conn| workspaces::create_workspace(conn, &req.name, &req.slug))
            .await?;
        Ok(Response::new(workspace_pb(workspace, None)))
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
            .with_conn(move |conn| {
                Ok(match member {
                    Some(user_id) => store::workspaces::list_for_member(conn, &user_id)?
                        .into_iter()
                        .map(|(workspace, role)| (workspace, Some(role)))
                        .collect(),
                    None => store::workspaces::list(conn)?
                        .into_iter()
                        .map(|workspace| (workspace, None))
                        .collect::<Vec<_>>(),
                })
            })
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
        let req = request.into_inner();
        let workspace = self
            .write(move |conn| {
                workspaces::update_workspace(
                    conn,
                    &req.workspace,
                    req.name.as_deref(),
                    req.icon_url.as_deref(),
                )
            })
            .await?;
        Ok(Response::new(workspace_pb(workspace, None)))
    }

    async fn add_member(&self, request: Request<pb::AddMemberRequest>) -> Reply<pb::Member> {
        let req = request.into_inner();
        let (member, user) = self
            .write(move |conn| members::add_member(conn, &req.workspace, &req.user_id, &req.role))
            .await?;
        Ok(Response::new(member_pb(member, user)))
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Reply<pb::RemoveMemberResponse> {
        let req = request.into_inner();
        let (member, user) = self
            .write(move |conn| members::remove_member(conn, &req.workspace, &req.user_id))
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
                let member = store::members::find(conn, &req.workspace_id, &req.user_id)?;
                match member {
                    Some(member) => Ok(Some((member, domain::require_user(conn, &req.user_id)?))),
                    None => Ok(None),
                }
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
            workspace: Some(workspace_pb(workspace, Some("owner".into()))),
            owner: Some(user_pb(owner)),
        }))
    }

    async fn create_bot(
        &self,
        request: Request<pb::CreateBotRequest>,
    ) -> Reply<pb::CreateBotResponse> {
        let req = request.into_inner();
        let new = bots::NewBot {
            workspace: req.workspace,
            display_name: req.display_name,
            handle: req.handle,
            avatar_url: req.avatar_url,
            owner_user_id: req.owner_user_id,
            created_by: req.created_by,
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
        let key = request.into_inner().workspace;
        let found = self
            .with_conn(move |conn| bots::list_bots(conn, &key))
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
        let req = request.into_inner();
        let (bot, issued) = self
            .with_conn(move |conn| {
                bots::create_token(
                    conn,
                    &req.workspace,
                    &req.bot_user_id,
                    &req.name,
                    &req.scopes,
                    req.created_by,
                )
            })
            .await?;
        tracing::info!(bot = %bot.id, token = %issued.row.id, "minted bot token");
        Ok(Response::new(pb::CreateBotTokenResponse {
            bot_token: Some(token_pb(issued.row, bot.owner_user_id)),
            token: issued.raw.into_exposed(),
        }))
    }

    async fn list_bot_tokens(
        &self,
        request: Request<pb::ListBotTokensRequest>,
    ) -> Reply<pb::BotTokenList> {
        let req = request.into_inner();
        let (bot, tokens) = self
            .with_conn(move |conn| bots::list_tokens(conn, &req.workspace, &req.bot_user_id))
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
        let id = request.into_inner().token_id;
        let (bot, token) = self
            .with_conn(move |conn| bots::revoke_token(conn, &id))
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
    }
}
