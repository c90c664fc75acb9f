//! Workspaces: founding, finding, renaming, deleting and handing them over,
//! the first-run bootstrap, and the audit log an owner reads.

use super::callers::{acting, acting_user, required_human};
use super::wire::{audit_entry_pb, user_pb, workspace_pb};
use super::{IdentityApi, Reply};
use crate::domain::rules::Role;
use crate::domain::{self, self_service, workspaces};
use clickclack_proto::identity as pb;
use tonic::{Request, Response};

pub(super) async fn create_workspace(
    api: &IdentityApi,
    request: Request<pb::CreateWorkspaceRequest>,
) -> Reply<pb::Workspace> {
    // A signed-in human founds it and owns it; an operator makes an empty
    // one (and adds members with AddMember). A bot's assertion is refused.
    let founder = acting_user(&request, None)?;
    let req = request.into_inner();
    let (workspace, role) = api
        .write(move |conn| match founder {
            Some(owner) => self_service::found_workspace(conn, &owner, &req.name, &req.slug)
                .map(|w| (w, Some(Role::Owner))),
            None => workspaces::create_workspace(conn, &req.name, &req.slug).map(|w| (w, None)),
        })
        .await?;
    Ok(Response::new(workspace_pb(workspace, role)))
}

pub(super) async fn get_workspace(
    api: &IdentityApi,
    request: Request<pb::GetWorkspaceRequest>,
) -> Reply<pb::Workspace> {
    let key = domain::workspace_key(&request.into_inner().id_or_slug)?;
    let workspace = api
        .with_conn(move |conn| domain::resolve_workspace(conn, &key))
        .await?;
    Ok(Response::new(workspace_pb(workspace, None)))
}

pub(super) async fn list_workspaces(
    api: &IdentityApi,
    request: Request<pb::ListWorkspacesRequest>,
) -> Reply<pb::WorkspaceList> {
    let member = domain::optional_user_id(request.get_ref().member_user_id.as_deref(), "user")?;
    let found = api
        .with_conn(move |conn| workspaces::list(conn, member.as_ref()))
        .await?;
    Ok(Response::new(pb::WorkspaceList {
        workspaces: found
            .into_iter()
            .map(|(workspace, role)| workspace_pb(workspace, role))
            .collect(),
    }))
}

pub(super) async fn update_workspace(
    api: &IdentityApi,
    request: Request<pb::UpdateWorkspaceRequest>,
) -> Reply<pb::Workspace> {
    let actor = acting(&request, None)?;
    let req = request.into_inner();
    let key = domain::workspace_key(&req.workspace)?;
    let workspace = api
        .write(move |conn| {
            workspaces::update_workspace(
                conn,
                &key,
                &actor,
                req.name.as_deref(),
                req.slug.as_deref(),
                req.icon_url.as_deref(),
            )
        })
        .await?;
    Ok(Response::new(workspace_pb(workspace, None)))
}

pub(super) async fn delete_workspace(
    api: &IdentityApi,
    request: Request<pb::DeleteWorkspaceRequest>,
) -> Reply<pb::Workspace> {
    let user_id = required_human(&request)?;
    let key = domain::workspace_key(&request.into_inner().workspace)?;
    let workspace = api
        .change_credentials(move |conn| self_service::delete_workspace(conn, &user_id, &key))
        .await?;
    Ok(Response::new(workspace_pb(workspace, None)))
}

pub(super) async fn transfer_ownership(
    api: &IdentityApi,
    request: Request<pb::TransferOwnershipRequest>,
) -> Reply<pb::Workspace> {
    let user_id = required_human(&request)?;
    let req = request.into_inner();
    let key = domain::workspace_key(&req.workspace)?;
    let new_owner = domain::user_id(&req.user_id, "user")?;
    let workspace = api
        .change_credentials(move |conn| {
            self_service::transfer_ownership(conn, &user_id, &key, &new_owner)
        })
        .await?;
    // The caller stays on as a moderator.
    Ok(Response::new(workspace_pb(
        workspace,
        Some(Role::Moderator),
    )))
}

pub(super) async fn bootstrap(
    api: &IdentityApi,
    request: Request<pb::BootstrapRequest>,
) -> Reply<pb::BootstrapResponse> {
    let req = request.into_inner();
    let (workspace, owner) = api
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
        workspace: Some(workspace_pb(workspace, Some(Role::Owner))),
        owner: Some(user_pb(owner)),
    }))
}

pub(super) async fn list_audit(
    api: &IdentityApi,
    request: Request<pb::ListAuditRequest>,
) -> Reply<pb::AuditList> {
    let actor = acting(&request, request.get_ref().actor_user_id.as_deref())?;
    let req = request.into_inner();
    let key = domain::workspace_key(&req.workspace)?;
    let (_, rows) = api
        .with_conn(move |conn| domain::audit::list(conn, &key, &actor, req.limit, &req.before))
        .await?;
    Ok(Response::new(pb::AuditList {
        entries: rows.into_iter().map(audit_entry_pb).collect(),
    }))
}
