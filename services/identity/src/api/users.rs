//! Users: creating and finding them, and a human editing their profile.

use super::callers::required_human;
use super::wire::user_pb;
use super::{IdentityApi, Reply};
use crate::domain::{self, self_service};
use clickclack_common::ids::UserId;
use clickclack_proto::identity as pb;
use tonic::{Request, Response};

pub(super) async fn create_user(
    api: &IdentityApi,
    request: Request<pb::CreateUserRequest>,
) -> Reply<pb::User> {
    let req = request.into_inner();
    let user = api
        .with_conn(move |conn| {
            domain::users::create_human(conn, &req.display_name, &req.email, &req.handle)
        })
        .await?;
    Ok(Response::new(user_pb(user)))
}

pub(super) async fn get_user(
    api: &IdentityApi,
    request: Request<pb::GetUserRequest>,
) -> Reply<pb::User> {
    let id = domain::user_id(&request.into_inner().id, "user")?;
    let user = api
        .with_conn(move |conn| domain::require_user(conn, &id))
        .await?;
    Ok(Response::new(user_pb(user)))
}

/// The users among `ids` that exist; what is not a user id names nobody.
pub(super) async fn get_users(
    api: &IdentityApi,
    request: Request<pb::GetUsersRequest>,
) -> Reply<pb::UserList> {
    let ids: Vec<UserId> = request
        .into_inner()
        .ids
        .iter()
        .filter_map(|id| UserId::parse(id.trim()))
        .collect();
    let users = api
        .with_conn(move |conn| domain::users::find_many(conn, &ids))
        .await?;
    Ok(Response::new(pb::UserList {
        users: users.into_iter().map(user_pb).collect(),
    }))
}

pub(super) async fn list_users(
    api: &IdentityApi,
    _: Request<pb::ListUsersRequest>,
) -> Reply<pb::UserList> {
    let users = api.with_conn(domain::users::list).await?;
    Ok(Response::new(pb::UserList {
        users: users.into_iter().map(user_pb).collect(),
    }))
}

pub(super) async fn update_profile(
    api: &IdentityApi,
    request: Request<pb::UpdateProfileRequest>,
) -> Reply<pb::User> {
    let user_id = required_human(&request)?;
    let req = request.into_inner();
    let user = api
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
