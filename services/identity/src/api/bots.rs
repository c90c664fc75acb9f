//! Bot installs: creating bots, their tokens (mint, list, rotate, revoke),
//! removing a bot, and the bots a human owns.

use super::callers::{acting, acting_user};
use super::wire::{token_pb, user_pb, workspace_pb};
use super::{IdentityApi, Reply};
use crate::domain::audit::Actor;
use crate::domain::{self, auth, bots};
use clickclack_common::ids::{UserId, WorkspaceId};
use clickclack_proto::identity as pb;
use tonic::{Request, Response, Status};

pub(super) async fn create_bot(
    api: &IdentityApi,
    request: Request<pb::CreateBotRequest>,
) -> Reply<pb::CreateBotResponse> {
    let created_by = acting_user(&request, request.get_ref().created_by.as_deref())?;
    let req = request.into_inner();
    let new = bots::NewBot {
        workspace: domain::workspace_key(&req.workspace)?,
        display_name: req.display_name,
        handle: req.handle,
        avatar_url: req.avatar_url,
        owner_user_id: domain::optional_user_id(req.owner_user_id.as_deref(), "owner")?,
        created_by,
        scopes: req.scopes,
        token_name: req.token_name,
    };
    let (bot, issued) = api.write(move |conn| bots::create_bot(conn, new)).await?;
    tracing::info!(bot = %bot.id, token = %issued.row.id, "created bot");
    let owner = bot.owner_user_id.clone();
    Ok(Response::new(pb::CreateBotResponse {
        bot: Some(user_pb(bot)),
        bot_token: Some(token_pb(issued.row, owner)),
        token: issued.raw.into_exposed(),
    }))
}

pub(super) async fn list_bots(
    api: &IdentityApi,
    request: Request<pb::ListBotsRequest>,
) -> Reply<pb::BotList> {
    let actor = acting(&request, request.get_ref().actor_user_id.as_deref())?;
    let key = domain::workspace_key(&request.get_ref().workspace)?;
    let found = api
        .with_conn(move |conn| bots::list_bots(conn, &key, &actor))
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

pub(super) async fn create_bot_token(
    api: &IdentityApi,
    request: Request<pb::CreateBotTokenRequest>,
) -> Reply<pb::CreateBotTokenResponse> {
    let created_by = acting_user(&request, request.get_ref().created_by.as_deref())?;
    let req = request.into_inner();
    // A blank workspace means the bot's own.
    let key = domain::optional_workspace_key(&req.workspace);
    let bot_user_id = domain::user_id(&req.bot_user_id, "bot")?;
    let (bot, issued) = api
        .with_conn(move |conn| {
            bots::create_token(
                conn,
                key.as_ref(),
                &bot_user_id,
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

pub(super) async fn list_bot_tokens(
    api: &IdentityApi,
    request: Request<pb::ListBotTokensRequest>,
) -> Reply<pb::BotTokenList> {
    let actor = acting(&request, request.get_ref().actor_user_id.as_deref())?;
    let req = request.into_inner();
    let key = domain::optional_workspace_key(&req.workspace);
    let bot_user_id = domain::user_id(&req.bot_user_id, "bot")?;
    let (bot, tokens) = api
        .with_conn(move |conn| bots::list_tokens(conn, key.as_ref(), &bot_user_id, &actor))
        .await?;
    Ok(Response::new(pb::BotTokenList {
        bot_tokens: tokens
            .into_iter()
            .map(|t| token_pb(t, bot.owner_user_id.clone()))
            .collect(),
    }))
}

pub(super) async fn revoke_bot_token(
    api: &IdentityApi,
    request: Request<pb::RevokeBotTokenRequest>,
) -> Reply<pb::BotToken> {
    let actor = acting(&request, request.get_ref().actor_user_id.as_deref())?;
    let req = request.into_inner();
    let key = domain::optional_workspace_key(&req.workspace);
    let (bot, token) = api
        .change_credentials(move |conn| {
            bots::revoke_token(conn, &req.token_id, key.as_ref(), &actor)
        })
        .await?;
    tracing::info!(bot = %bot.id, token = %token.id, "revoked bot token");
    Ok(Response::new(token_pb(token, bot.owner_user_id)))
}

pub(super) async fn rotate_bot_token(
    api: &IdentityApi,
    request: Request<pb::RotateBotTokenRequest>,
) -> Reply<pb::RotateBotTokenResponse> {
    let actor = acting(&request, request.get_ref().actor_user_id.as_deref())?;
    let req = request.into_inner();
    let key = domain::optional_workspace_key(&req.workspace);
    let grace = chrono::Duration::seconds(i64::from(req.grace_seconds));
    let rotation = api
        .change_credentials(move |conn| {
            bots::rotate_token(conn, &req.token_id, key.as_ref(), grace, &actor)
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

pub(super) async fn remove_bot(
    api: &IdentityApi,
    request: Request<pb::RemoveBotRequest>,
) -> Reply<pb::RemoveBotResponse> {
    let actor = acting(&request, request.get_ref().actor_user_id.as_deref())?;
    let req = request.into_inner();
    let key = domain::optional_workspace_key(&req.workspace);
    let bot_user_id = domain::user_id(&req.bot_user_id, "bot")?;
    let (bot, revoked, workspace) = api
        .change_credentials(move |conn| bots::remove_bot(conn, key.as_ref(), &bot_user_id, &actor))
        .await?;
    tracing::info!(bot = %bot.id, revoked, "removed bot from workspace");
    api.relay
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

/// The bots a human owns, wherever they are installed.
pub(super) async fn list_owned_bots(
    api: &IdentityApi,
    request: Request<pb::ListOwnedBotsRequest>,
) -> Reply<pb::OwnedBotList> {
    let owner = match acting(&request, Some(&request.get_ref().owner_user_id))? {
        Actor::User(id) => id,
        Actor::Operator => return Err(Status::invalid_argument("owner_user_id is required")),
    };
    let found = api
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

/// At most this many readers per standing check (a worker's batch).
const MAX_STANDINGS: usize = 1000;

pub(super) async fn check_reader_standings(
    api: &IdentityApi,
    request: Request<pb::CheckReaderStandingsRequest>,
) -> Reply<pb::ReaderStandingList> {
    let readers = request.into_inner().readers;
    if readers.len() > MAX_STANDINGS {
        return Err(Status::invalid_argument(format!(
            "at most {MAX_STANDINGS} readers per call"
        )));
    }
    let standings = api
        .with_conn(move |conn| {
            readers
                .into_iter()
                .map(|reader| {
                    let ids = WorkspaceId::parse(&reader.workspace_id)
                        .zip(UserId::parse(&reader.user_id));
                    let standing = match ids {
                        Some((workspace, user)) => auth::reader_standing(conn, &workspace, &user)?,
                        None => Err("no such user".to_owned()),
                    };
                    Ok(pb::ReaderStanding {
                        reader: Some(reader),
                        in_standing: standing.is_ok(),
                        reason: standing.err().unwrap_or_default(),
                    })
                })
                .collect::<crate::error::Result<Vec<_>>>()
        })
        .await?;
    Ok(Response::new(pb::ReaderStandingList { standings }))
}

/// The webhooks service disabled a subscription: audit it and tell its people.
pub(super) async fn note_subscription_disabled(
    api: &IdentityApi,
    request: Request<pb::NoteSubscriptionDisabledRequest>,
) -> Reply<pb::NoteSubscriptionDisabledResponse> {
    use crate::domain::notices::{self, SubscriptionDisabled};
    let req = request.into_inner();
    let workspace_id = WorkspaceId::parse(&req.workspace_id)
        .ok_or_else(|| Status::invalid_argument("workspace_id is not a workspace id"))?;
    let notice = SubscriptionDisabled {
        workspace_id,
        subscription_id: clickclack_common::grpc::bounded(req.subscription_id),
        bot_user_id: UserId::parse(&req.bot_user_id),
        created_by: req.created_by.as_deref().and_then(UserId::parse),
        reason: clickclack_common::grpc::bounded(req.reason),
        callback_url: clickclack_common::grpc::bounded(req.callback_url),
    };
    let told = api
        .write(move |conn| notices::subscription_disabled(conn, &notice))
        .await?;
    Ok(Response::new(pb::NoteSubscriptionDisabledResponse {
        told: told.into_iter().map(String::from).collect(),
    }))
}
