//! Membership: adding, removing and listing members, looking one up, and
//! the invite links humans join through.

use super::callers::required_human;
use super::wire::{member_pb, workspace_pb};
use super::{IdentityApi, Reply};
use crate::domain::{self, members, self_service};
use clickclack_common::ids::WorkspaceId;
use clickclack_common::time::rfc3339;
use clickclack_common::token::RawToken;
use clickclack_proto::identity as pb;
use tonic::{Request, Response, Status};

pub(super) async fn add_member(
    api: &IdentityApi,
    request: Request<pb::AddMemberRequest>,
) -> Reply<pb::Member> {
    let req = request.into_inner();
    let key = domain::workspace_key(&req.workspace)?;
    let user_id = domain::user_id(&req.user_id, "user")?;
    let (member, user) = api
        .change_credentials(move |conn| members::add_member(conn, &key, &user_id, &req.role))
        .await?;
    Ok(Response::new(member_pb(member, user)))
}

pub(super) async fn remove_member(
    api: &IdentityApi,
    request: Request<pb::RemoveMemberRequest>,
) -> Reply<pb::RemoveMemberResponse> {
    let req = request.into_inner();
    let key = domain::workspace_key(&req.workspace)?;
    let user_id = domain::user_id(&req.user_id, "user")?;
    let (member, user) = api
        .change_credentials(move |conn| members::remove_member(conn, &key, &user_id))
        .await?;
    Ok(Response::new(pb::RemoveMemberResponse {
        removed: Some(member_pb(member, user)),
    }))
}

pub(super) async fn list_members(
    api: &IdentityApi,
    request: Request<pb::ListMembersRequest>,
) -> Reply<pb::MemberList> {
    let key = domain::workspace_key(&request.into_inner().workspace)?;
    let (_, found) = api
        .with_conn(move |conn| members::list_members(conn, &key))
        .await?;
    Ok(Response::new(pb::MemberList {
        members: found
            .into_iter()
            .map(|(member, user)| member_pb(member, user))
            .collect(),
    }))
}

/// One member by user id or handle; "not a member" covers a workspace id
/// that names no workspace.
pub(super) async fn get_membership(
    api: &IdentityApi,
    request: Request<pb::GetMembershipRequest>,
) -> Reply<pb::Member> {
    let not_member = || Status::not_found("not a member of this workspace");
    let req = request.into_inner();
    let workspace_id = WorkspaceId::parse(req.workspace_id.trim()).ok_or_else(not_member)?;
    let found = api
        .with_conn(move |conn| members::find_member(conn, &workspace_id, &req.user_id))
        .await?;
    let (member, user) = found.ok_or_else(not_member)?;
    Ok(Response::new(member_pb(member, user)))
}

pub(super) async fn create_invite(
    api: &IdentityApi,
    request: Request<pb::CreateInviteRequest>,
) -> Reply<pb::CreateInviteResponse> {
    let user_id = required_human(&request)?;
    let key = domain::workspace_key(&request.into_inner().workspace)?;
    let (invite, secret) = api
        .with_conn(move |conn| self_service::create_invite(conn, &user_id, &key))
        .await?;
    Ok(Response::new(pb::CreateInviteResponse {
        id: invite.id,
        token: secret.into_exposed(),
        expires_at: rfc3339(&invite.expires_at),
        workspace_id: invite.workspace_id.into(),
    }))
}

pub(super) async fn accept_invite(
    api: &IdentityApi,
    request: Request<pb::AcceptInviteRequest>,
) -> Reply<pb::Workspace> {
    let user_id = required_human(&request)?;
    let presented = RawToken::from_presented(request.into_inner().token);
    let (workspace, member) = api
        .change_credentials(move |conn| self_service::accept_invite(conn, &user_id, &presented))
        .await?;
    Ok(Response::new(workspace_pb(workspace, Some(member.role))))
}
