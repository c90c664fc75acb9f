use crate::error::ApiResult;
use crate::principal::Principal;
use axum::Json;
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /api/me` → `{user}`.
pub async fn get_me(principal: Arc<Principal>) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "user": principal.user })))
}
