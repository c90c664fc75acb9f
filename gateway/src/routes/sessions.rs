//! Human sign-in (API.md §10): magic links become sessions.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize)]
pub struct ConsumeBody {
    #[serde(default)]
    token: String,
}

/// `POST /api/auth/magic/consume {token}` →
/// `{user, session: {token, expires_at}, token}`.
pub async fn consume(
    State(state): State<AppState>,
    Json(body): Json<ConsumeBody>,
) -> ApiResult<Json<Value>> {
    if body.token.trim().is_empty() {
        return Err(ApiError::bad_request("token is required"));
    }
    let opened = state
        .identity
        .clone()
        .consume_magic_link(pb::ConsumeMagicLinkRequest {
            token: body.token.trim().to_owned(),
        })
        .await?
        .into_inner();
    let user = opened.user.map(wire::User::from);
    Ok(Json(json!({
        "user": user,
        "session": { "token": opened.session_token, "expires_at": opened.expires_at },
        "token": opened.session_token,
    })))
}

#[derive(Deserialize)]
pub struct RequestBody {
    #[serde(default)]
    email: String,
}

/// `POST /api/auth/magic/request {email}` → 202. This deployment has no
/// mail transport, so nothing is sent: operators issue links with
/// `clickclack admin magic-link create`. The answer is the same whether or
/// not the address belongs to anyone, so it reveals nothing.
pub async fn request(Json(body): Json<RequestBody>) -> ApiResult<(StatusCode, Json<Value>)> {
    let email = body.email.trim();
    if email.is_empty() || !email.contains('@') || email.len() > 254 {
        return Err(ApiError::bad_request("a valid email is required"));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "status": "accepted",
            "delivery": "none: ask an operator for a sign-in link (clickclack admin magic-link create)",
        })),
    ))
}

/// `POST /api/auth/logout` → `{ok: true}`: ends the calling session.
pub async fn logout(
    State(state): State<AppState>,
    principal: Arc<Principal>,
) -> ApiResult<Json<Value>> {
    principal.require_session()?;
    state
        .identity
        .clone()
        .revoke_session(pb::RevokeSessionRequest {
            token: principal.bearer().expose().to_owned(),
        })
        .await?;
    Ok(Json(json!({ "ok": true })))
}
