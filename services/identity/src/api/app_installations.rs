//! App installations: listing, installing and revoking (audited).

use super::callers::acting;
use super::wire::user_pb;
use super::{IdentityApi, Reply};
use crate::domain::{self, app_installations as apps};
use crate::error::IdentityError;
use crate::store::app_installations::AppInstallationRow;
use clickclack_common::ids::WorkspaceId;
use clickclack_common::time::rfc3339;
use clickclack_proto::identity as pb;
use tonic::{Request, Response, Status};

fn workspace_id(raw: &str) -> Result<WorkspaceId, Status> {
    WorkspaceId::parse(raw.trim())
        .ok_or_else(|| IdentityError::Invalid("workspace must be a wsp_ id".into()).into())
}

pub(super) fn installation_pb(row: AppInstallationRow) -> pb::AppInstallation {
    pb::AppInstallation {
        id: row.id,
        workspace_id: row.workspace_id.into(),
        app_slug: row.app_slug,
        display_name: row.display_name,
        bot_user_id: row.bot_user_id.into(),
        config_json: row.config.to_string(),
        created_by: row.created_by.map(String::from),
        created_at: rfc3339(&row.created_at),
        revoked_at: row.revoked_at.as_ref().map(rfc3339),
    }
}

pub(super) async fn list(
    api: &IdentityApi,
    request: Request<pb::ListAppInstallationsRequest>,
) -> Reply<pb::AppInstallationList> {
    let actor = acting(&request, request.get_ref().actor_user_id.as_deref())?;
    let workspace = workspace_id(&request.get_ref().workspace)?;
    let rows = api
        .with_conn(move |conn| apps::list(conn, &workspace, &actor))
        .await?;
    Ok(Response::new(pb::AppInstallationList {
        app_installations: rows.into_iter().map(installation_pb).collect(),
    }))
}

pub(super) async fn create(
    api: &IdentityApi,
    request: Request<pb::CreateAppInstallationRequest>,
) -> Reply<pb::AppInstallation> {
    let actor = acting(&request, request.get_ref().created_by.as_deref())?;
    let req = request.into_inner();
    let new = apps::NewInstallation {
        workspace_id: workspace_id(&req.workspace)?,
        app_slug: req.app_slug,
        display_name: req.display_name,
        bot_user_id: domain::user_id(&req.bot_user_id, "bot")?,
        config_json: req.config_json,
        actor,
    };
    let row = api.write(move |conn| apps::install(conn, new)).await?;
    tracing::info!(installation = %row.id, app = %row.app_slug, "installed app");
    Ok(Response::new(installation_pb(row)))
}

pub(super) async fn revoke(
    api: &IdentityApi,
    request: Request<pb::RevokeAppInstallationRequest>,
) -> Reply<pb::RevokeAppInstallationResponse> {
    let actor = acting(&request, request.get_ref().actor_user_id.as_deref())?;
    let req = request.into_inner();
    let options = apps::RevokeOptions {
        revoke_bot_tokens: req.revoke_bot_tokens,
        delete_bot: req.delete_bot,
    };
    // Waits until every gateway has dropped the revoked tokens.
    let revoked = api
        .change_credentials(move |conn| apps::revoke(conn, &req.installation_id, options, &actor))
        .await?;
    tracing::info!(
        installation = %revoked.installation.id,
        tokens = revoked.revoked_bot_tokens,
        deleted_bot = revoked.deleted_bot.is_some(),
        "revoked app installation"
    );
    if let Some(bot) = &revoked.deleted_bot {
        api.relay
            .publish_live(
                &revoked.installation.workspace_id,
                "bot.membership_removed",
                serde_json::json!({ "bot_user_id": bot.id, "user_id": bot.id }),
            )
            .await;
    }
    Ok(Response::new(pb::RevokeAppInstallationResponse {
        revoked_at: rfc3339(&revoked.revoked_at),
        installation: Some(installation_pb(revoked.installation)),
        revoked_bot_tokens: revoked.revoked_bot_tokens as u32,
        deleted_bot: revoked.deleted_bot.map(user_pb),
    }))
}
