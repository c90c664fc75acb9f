//! Bot setup codes: minting, listing, withdrawing and claiming them.

use super::callers::acting_user;
use super::wire::{setup_code_pb, user_pb, workspace_pb};
use super::{IdentityApi, Reply};
use crate::domain::rules::Role;
use crate::domain::{self, setup_codes};
use clickclack_common::token::display_setup_code;
use clickclack_proto::identity as pb;
use tonic::{Request, Response, Status};

pub(super) async fn create_setup_code(
    api: &IdentityApi,
    request: Request<pb::CreateSetupCodeRequest>,
) -> Reply<pb::CreateSetupCodeResponse> {
    let created_by = acting_user(&request, request.get_ref().created_by.as_deref())?;
    let req = request.into_inner();
    let defaults = if req.defaults_json.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&req.defaults_json)
            .map_err(|_| Status::invalid_argument("defaults must be a JSON object"))?
    };
    let new = setup_codes::NewSetupCode {
        workspace: domain::optional_workspace_key(&req.workspace),
        bot_user_id: domain::user_id(&req.bot_user_id, "bot")?,
        token_name: req.token_name,
        scopes: req.scopes,
        defaults,
        created_by,
    };
    let (row, code) = api
        .with_conn(move |conn| setup_codes::create(conn, new))
        .await?;
    tracing::info!(bot = %row.bot_user_id, setup_code = %row.id, "minted bot setup code");
    Ok(Response::new(pb::CreateSetupCodeResponse {
        code: display_setup_code(&code),
        setup_code: Some(setup_code_pb(row)),
    }))
}

pub(super) async fn list_setup_codes(
    api: &IdentityApi,
    request: Request<pb::ListSetupCodesRequest>,
) -> Reply<pb::SetupCodeList> {
    let actor = acting_user(&request, request.get_ref().actor_user_id.as_deref())?;
    let req = request.into_inner();
    let key = domain::optional_workspace_key(&req.workspace);
    let bot_user_id = domain::user_id(&req.bot_user_id, "bot")?;
    let rows = api
        .with_conn(move |conn| setup_codes::list(conn, key.as_ref(), &bot_user_id, actor))
        .await?;
    Ok(Response::new(pb::SetupCodeList {
        setup_codes: rows.into_iter().map(setup_code_pb).collect(),
    }))
}

pub(super) async fn revoke_setup_code(
    api: &IdentityApi,
    request: Request<pb::RevokeSetupCodeRequest>,
) -> Reply<pb::SetupCode> {
    let actor = acting_user(&request, request.get_ref().actor_user_id.as_deref())?;
    let id = request.into_inner().setup_code_id;
    let row = api
        .with_conn(move |conn| setup_codes::revoke(conn, &id, actor))
        .await?;
    Ok(Response::new(setup_code_pb(row)))
}

pub(super) async fn claim_setup_code(
    api: &IdentityApi,
    request: Request<pb::ClaimSetupCodeRequest>,
) -> Reply<pb::ClaimSetupCodeResponse> {
    let typed = request.into_inner().code;
    let claimed = api
        .with_conn(move |conn| setup_codes::claim(conn, &typed))
        .await?;
    tracing::info!(bot = %claimed.bot.id, token = %claimed.token.row.id, "claimed bot setup code");
    Ok(Response::new(pb::ClaimSetupCodeResponse {
        setup_code_id: claimed.setup_code_id,
        token: claimed.token.raw.into_exposed(),
        bot: Some(user_pb(claimed.bot)),
        workspace: Some(workspace_pb(claimed.workspace, Some(Role::Bot))),
        defaults_json: claimed.defaults.to_string(),
    }))
}
