//! Bot command menus: a bot publishes its own; members read a workspace's.

use super::wire::command_list_pb;
use super::{IdentityApi, Reply};
use crate::domain::{self, commands};
use clickclack_common::assertion::caller;
use clickclack_common::ids::{UserId, WorkspaceId};
use clickclack_proto::identity as pb;
use tonic::{Request, Response, Status};

pub(super) async fn set_bot_commands(
    api: &IdentityApi,
    request: Request<pb::SetBotCommandsRequest>,
) -> Reply<pb::BotCommandList> {
    let refused = || Status::permission_denied("only a bot may publish its own command menu");
    let claims = caller(&request)?;
    let req = request.into_inner();
    if !claims.is_bot() || claims.sub != req.bot_user_id || claims.wsp != req.workspace_id {
        return Err(refused());
    }
    let bot_user_id = UserId::parse(&req.bot_user_id).ok_or_else(refused)?;
    let workspace_id = WorkspaceId::parse(&req.workspace_id).ok_or_else(refused)?;
    let input = req
        .commands
        .into_iter()
        .map(|c| commands::CommandInput {
            command: c.command,
            description: c.description,
            args_hint: c.args_hint,
        })
        .collect();
    let (bot, workspace) = (bot_user_id.clone(), workspace_id.clone());
    let rows = api
        .with_conn(move |conn| commands::set_commands(conn, &bot, &workspace, input))
        .await?;
    api.relay
        .publish_live(
            &workspace_id,
            "bot_command.updated",
            serde_json::json!({ "bot_user_id": bot_user_id, "command_count": rows.len() }),
        )
        .await;
    Ok(Response::new(command_list_pb(rows)))
}

pub(super) async fn list_bot_commands(
    api: &IdentityApi,
    request: Request<pb::ListBotCommandsRequest>,
) -> Reply<pb::BotCommandList> {
    let key = domain::workspace_key(&request.into_inner().workspace)?;
    let rows = api
        .with_conn(move |conn| commands::list_commands(conn, &key))
        .await?;
    Ok(Response::new(command_list_pb(rows)))
}
