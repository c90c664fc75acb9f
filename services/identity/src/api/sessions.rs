//! Credentials: authenticating a presented token, the auth-change stream
//! gateways watch, magic links and sessions.

use super::wire::user_pb;
use super::{IdentityApi, Reply};
use crate::changes;
use crate::domain::{self, auth, sessions};
use clickclack_common::time::rfc3339;
use clickclack_common::token::RawToken;
use clickclack_proto::identity as pb;
use std::pin::Pin;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

pub(super) type ChangeStream = Pin<Box<dyn Stream<Item = Result<pb::AuthChange, Status>> + Send>>;

pub(super) async fn authenticate(
    api: &IdentityApi,
    request: Request<pb::AuthenticateRequest>,
) -> Reply<pb::Principal> {
    let req = request.into_inner();
    let presented = RawToken::from_presented(req.token);
    let workspace = domain::optional_workspace_key(&req.workspace);
    let found = api
        .with_conn(move |conn| auth::authenticate(conn, &presented, workspace.as_ref()))
        .await?;
    Ok(Response::new(pb::Principal {
        workspace_id: found.workspace_id.map(String::from).unwrap_or_default(),
        scopes: found.scopes,
        token_id: found.credential_id,
        role: found
            .role
            .map(|role| role.as_str().to_owned())
            .unwrap_or_default(),
        expires_at: found.expires_at.as_ref().map(rfc3339),
        credential: found.credential.into(),
        user: Some(user_pb(found.user)),
    }))
}

pub(super) async fn watch_auth_changes(
    api: &IdentityApi,
    request: Request<tonic::Streaming<pb::WatcherReport>>,
) -> Reply<ChangeStream> {
    let (sender, receiver) = tokio::sync::mpsc::channel(64);
    tokio::spawn(changes::serve_watcher(
        api.changes.clone(),
        api.pool.clone(),
        request.into_inner(),
        sender,
    ));
    Ok(Response::new(Box::pin(
        tokio_stream::wrappers::ReceiverStream::new(receiver),
    )))
}

pub(super) async fn create_magic_link(
    api: &IdentityApi,
    request: Request<pb::CreateMagicLinkRequest>,
) -> Reply<pb::CreateMagicLinkResponse> {
    let req = request.into_inner();
    let issued = api
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

pub(super) async fn consume_magic_link(
    api: &IdentityApi,
    request: Request<pb::ConsumeMagicLinkRequest>,
) -> Reply<pb::ConsumeMagicLinkResponse> {
    let presented = RawToken::from_presented(request.into_inner().token);
    let opened = api
        .with_conn(move |conn| sessions::consume_magic_link(conn, &presented))
        .await?;
    tracing::info!(user = %opened.user.id, "opened session");
    Ok(Response::new(pb::ConsumeMagicLinkResponse {
        user: Some(user_pb(opened.user)),
        session_token: opened.raw.into_exposed(),
        expires_at: rfc3339(&opened.expires_at),
    }))
}

pub(super) async fn revoke_session(
    api: &IdentityApi,
    request: Request<pb::RevokeSessionRequest>,
) -> Reply<pb::RevokeSessionResponse> {
    let presented = RawToken::from_presented(request.into_inner().token);
    let revoked = api
        .change_credentials(move |conn| sessions::revoke_session(conn, &presented))
        .await?;
    Ok(Response::new(pb::RevokeSessionResponse { revoked }))
}
