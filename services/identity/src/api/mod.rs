//! gRPC handlers. Each RPC parses its request at the edge (ids and
//! workspace keys become types), calls one domain operation and turns the
//! rows back into protobuf (`wire`). No SQL and no rules live here.
//!
//! The trait impl below is the table of RPCs; each handler lives in the
//! module of the resource it serves.

mod app_installations;
mod bots;
mod callers;
mod commands;
mod members;
mod sessions;
mod setup_codes;
mod users;
mod wire;
mod workspaces;

use crate::changes::AuthChanges;
use crate::error::IdentityError;
use clickclack_common::db::{self, PgPool};
use clickclack_common::outbox::Relay;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_server::IdentityService;
use diesel::PgConnection;
use std::sync::Arc;
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
    /// that credential is refused everywhere (docs/architecture.md, "Credential changes are
    /// read-your-writes").
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

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    // sessions.rs

    async fn authenticate(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Reply<pb::Principal> {
        sessions::authenticate(self, request).await
    }

    type WatchAuthChangesStream = sessions::ChangeStream;

    async fn watch_auth_changes(
        &self,
        request: Request<tonic::Streaming<pb::WatcherReport>>,
    ) -> Reply<sessions::ChangeStream> {
        sessions::watch_auth_changes(self, request).await
    }

    async fn create_magic_link(
        &self,
        request: Request<pb::CreateMagicLinkRequest>,
    ) -> Reply<pb::CreateMagicLinkResponse> {
        sessions::create_magic_link(self, request).await
    }

    async fn consume_magic_link(
        &self,
        request: Request<pb::ConsumeMagicLinkRequest>,
    ) -> Reply<pb::ConsumeMagicLinkResponse> {
        sessions::consume_magic_link(self, request).await
    }

    async fn revoke_session(
        &self,
        request: Request<pb::RevokeSessionRequest>,
    ) -> Reply<pb::RevokeSessionResponse> {
        sessions::revoke_session(self, request).await
    }

    // users.rs

    async fn create_user(&self, request: Request<pb::CreateUserRequest>) -> Reply<pb::User> {
        users::create_user(self, request).await
    }

    async fn get_user(&self, request: Request<pb::GetUserRequest>) -> Reply<pb::User> {
        users::get_user(self, request).await
    }

    async fn get_users(&self, request: Request<pb::GetUsersRequest>) -> Reply<pb::UserList> {
        users::get_users(self, request).await
    }

    async fn list_users(&self, request: Request<pb::ListUsersRequest>) -> Reply<pb::UserList> {
        users::list_users(self, request).await
    }

    async fn update_profile(&self, request: Request<pb::UpdateProfileRequest>) -> Reply<pb::User> {
        users::update_profile(self, request).await
    }

    // workspaces.rs

    async fn create_workspace(
        &self,
        request: Request<pb::CreateWorkspaceRequest>,
    ) -> Reply<pb::Workspace> {
        workspaces::create_workspace(self, request).await
    }

    async fn get_workspace(
        &self,
        request: Request<pb::GetWorkspaceRequest>,
    ) -> Reply<pb::Workspace> {
        workspaces::get_workspace(self, request).await
    }

    async fn list_workspaces(
        &self,
        request: Request<pb::ListWorkspacesRequest>,
    ) -> Reply<pb::WorkspaceList> {
        workspaces::list_workspaces(self, request).await
    }

    async fn update_workspace(
        &self,
        request: Request<pb::UpdateWorkspaceRequest>,
    ) -> Reply<pb::Workspace> {
        workspaces::update_workspace(self, request).await
    }

    async fn delete_workspace(
        &self,
        request: Request<pb::DeleteWorkspaceRequest>,
    ) -> Reply<pb::Workspace> {
        workspaces::delete_workspace(self, request).await
    }

    async fn transfer_ownership(
        &self,
        request: Request<pb::TransferOwnershipRequest>,
    ) -> Reply<pb::Workspace> {
        workspaces::transfer_ownership(self, request).await
    }

    async fn bootstrap(
        &self,
        request: Request<pb::BootstrapRequest>,
    ) -> Reply<pb::BootstrapResponse> {
        workspaces::bootstrap(self, request).await
    }

    async fn list_audit(&self, request: Request<pb::ListAuditRequest>) -> Reply<pb::AuditList> {
        workspaces::list_audit(self, request).await
    }

    // app_installations.rs

    async fn list_app_installations(
        &self,
        request: Request<pb::ListAppInstallationsRequest>,
    ) -> Reply<pb::AppInstallationList> {
        app_installations::list(self, request).await
    }

    async fn create_app_installation(
        &self,
        request: Request<pb::CreateAppInstallationRequest>,
    ) -> Reply<pb::AppInstallation> {
        app_installations::create(self, request).await
    }

    async fn revoke_app_installation(
        &self,
        request: Request<pb::RevokeAppInstallationRequest>,
    ) -> Reply<pb::RevokeAppInstallationResponse> {
        app_installations::revoke(self, request).await
    }

    // members.rs

    async fn add_member(&self, request: Request<pb::AddMemberRequest>) -> Reply<pb::Member> {
        members::add_member(self, request).await
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Reply<pb::RemoveMemberResponse> {
        members::remove_member(self, request).await
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Reply<pb::MemberList> {
        members::list_members(self, request).await
    }

    async fn get_membership(
        &self,
        request: Request<pb::GetMembershipRequest>,
    ) -> Reply<pb::Member> {
        members::get_membership(self, request).await
    }

    async fn create_invite(
        &self,
        request: Request<pb::CreateInviteRequest>,
    ) -> Reply<pb::CreateInviteResponse> {
        members::create_invite(self, request).await
    }

    async fn accept_invite(
        &self,
        request: Request<pb::AcceptInviteRequest>,
    ) -> Reply<pb::Workspace> {
        members::accept_invite(self, request).await
    }

    // bots.rs

    async fn create_bot(
        &self,
        request: Request<pb::CreateBotRequest>,
    ) -> Reply<pb::CreateBotResponse> {
        bots::create_bot(self, request).await
    }

    async fn list_bots(&self, request: Request<pb::ListBotsRequest>) -> Reply<pb::BotList> {
        bots::list_bots(self, request).await
    }

    async fn create_bot_token(
        &self,
        request: Request<pb::CreateBotTokenRequest>,
    ) -> Reply<pb::CreateBotTokenResponse> {
        bots::create_bot_token(self, request).await
    }

    async fn list_bot_tokens(
        &self,
        request: Request<pb::ListBotTokensRequest>,
    ) -> Reply<pb::BotTokenList> {
        bots::list_bot_tokens(self, request).await
    }

    async fn revoke_bot_token(
        &self,
        request: Request<pb::RevokeBotTokenRequest>,
    ) -> Reply<pb::BotToken> {
        bots::revoke_bot_token(self, request).await
    }

    async fn rotate_bot_token(
        &self,
        request: Request<pb::RotateBotTokenRequest>,
    ) -> Reply<pb::RotateBotTokenResponse> {
        bots::rotate_bot_token(self, request).await
    }

    async fn remove_bot(
        &self,
        request: Request<pb::RemoveBotRequest>,
    ) -> Reply<pb::RemoveBotResponse> {
        bots::remove_bot(self, request).await
    }

    async fn list_owned_bots(
        &self,
        request: Request<pb::ListOwnedBotsRequest>,
    ) -> Reply<pb::OwnedBotList> {
        bots::list_owned_bots(self, request).await
    }

    // setup_codes.rs

    async fn create_setup_code(
        &self,
        request: Request<pb::CreateSetupCodeRequest>,
    ) -> Reply<pb::CreateSetupCodeResponse> {
        setup_codes::create_setup_code(self, request).await
    }

    async fn list_setup_codes(
        &self,
        request: Request<pb::ListSetupCodesRequest>,
    ) -> Reply<pb::SetupCodeList> {
        setup_codes::list_setup_codes(self, request).await
    }

    async fn revoke_setup_code(
        &self,
        request: Request<pb::RevokeSetupCodeRequest>,
    ) -> Reply<pb::SetupCode> {
        setup_codes::revoke_setup_code(self, request).await
    }

    async fn claim_setup_code(
        &self,
        request: Request<pb::ClaimSetupCodeRequest>,
    ) -> Reply<pb::ClaimSetupCodeResponse> {
        setup_codes::claim_setup_code(self, request).await
    }

    // commands.rs

    async fn set_bot_commands(
        &self,
        request: Request<pb::SetBotCommandsRequest>,
    ) -> Reply<pb::BotCommandList> {
        commands::set_bot_commands(self, request).await
    }

    async fn list_bot_commands(
        &self,
        request: Request<pb::ListBotCommandsRequest>,
    ) -> Reply<pb::BotCommandList> {
        commands::list_bot_commands(self, request).await
    }

    async fn check_reader_standings(
        &self,
        request: Request<pb::CheckReaderStandingsRequest>,
    ) -> Reply<pb::ReaderStandingList> {
        bots::check_reader_standings(self, request).await
    }

    async fn note_subscription_disabled(
        &self,
        request: Request<pb::NoteSubscriptionDisabledRequest>,
    ) -> Reply<pb::NoteSubscriptionDisabledResponse> {
        bots::note_subscription_disabled(self, request).await
    }
}
