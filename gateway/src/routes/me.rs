use crate::auth::Principal;
use crate::error::ApiResult;
use axum::Json;
use clickclack_common::scopes::Scope;
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /api/me` → `{user}`.
pub async fn get_me(principal: Arc<Principal>) -> ApiResult<Json<Value>> {
    principal.require(Scope::ProfileRead)?;
    Ok(Json(json!({ "user": principal.user })))
}
