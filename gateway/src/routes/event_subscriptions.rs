//! Event subscriptions (upstream's `eventSubscriptions.*` calls and ours):
//! the webhooks service decides who may manage what; the gateway checks
//! the body's shape and renders the answers upstream clients read.
//!
//! Wire shapes follow upstream ClickClack: `{event_subscriptions}`,
//! `{event_subscription}` (its `signing_secret` only when just made or
//! rotated) and, for the delivery log, `{event_delivery_attempts}` (what
//! the TypeScript SDK reads) beside `{deliveries, next_cursor}` (what
//! upstream's server pages with).

use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use clickclack_common::wire;
use clickclack_proto::webhooks as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ListQuery {
    /// Only this bot's subscriptions.
    bot_user_id: Option<String>,
    /// Revoked and disabled ones too (`true`).
    include_ended: Option<bool>,
}

/// `GET /api/workspaces/{id}/event-subscriptions` → `{event_subscriptions}`.
pub async fn list(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let list = state
        .webhooks_as(&principal)
        .list_subscriptions(pb::ListSubscriptionsRequest {
            workspace_id: principal.workspace_id.clone(),
            bot_user_id: query.bot_user_id.filter(|id| !id.trim().is_empty()),
            include_ended: query.include_ended.unwrap_or(false),
        })
        .await?
        .into_inner();
    let subscriptions: Vec<Value> = list
        .subscriptions
        .into_iter()
        .map(|s| wire::event_subscription(Some(s), None))
        .collect();
    Ok(Json(json!({ "event_subscriptions": subscriptions })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct CreateBody {
    /// Durable event types from `GET /api/event-types`, or `["*"]`.
    event_types: Vec<String>,
    /// Where deliveries are POSTed: https (http only where the operator
    /// allows it).
    callback_url: String,
    /// The bot whose events it pushes; when left out, a bot caller's own,
    /// or for a member what that member can read.
    #[serde(default)]
    bot_user_id: Option<String>,
    /// Only these channels (default: every channel and DM the reader sees).
    #[serde(default)]
    channel_ids: Vec<String>,
    /// Upstream's app installations are not supported here; naming one is
    /// refused rather than ignored.
    #[serde(default)]
    app_installation_id: Option<String>,
}

/// `POST /api/workspaces/{id}/event-subscriptions` → 201
/// `{event_subscription}` with its `signing_secret`, shown once.
pub async fn create(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Json(body): Json<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    no_app_installation(body.app_installation_id.as_deref())?;
    if body.callback_url.trim().is_empty() {
        return Err(ApiError::bad_request("callback_url is required"));
    }
    let created = state
        .webhooks_as(&principal)
        .create_subscription(pb::CreateSubscriptionRequest {
            workspace_id: principal.workspace_id.clone(),
            bot_user_id: body.bot_user_id.unwrap_or_default(),
            callback_url: body.callback_url,
            event_types: body.event_types,
            channel_ids: body.channel_ids,
        })
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "event_subscription": wire::event_subscription(created.subscription, Some(created.signing_secret)),
        })),
    ))
}

/// `GET /api/event-subscriptions/{id}` → `{event_subscription}`.
pub async fn get(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let found = state
        .webhooks_as(&principal)
        .get_subscription(pb::SubscriptionRef { id })
        .await?
        .into_inner();
    Ok(Json(
        json!({ "event_subscription": wire::event_subscription(Some(found), None) }),
    ))
}

/// `POST /api/event-subscriptions/{id}/revoke` → `{event_subscription}`.
pub async fn revoke(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let revoked = state
        .webhooks_as(&principal)
        .revoke_subscription(pb::SubscriptionRef { id })
        .await?
        .into_inner();
    Ok(Json(
        json!({ "event_subscription": wire::event_subscription(Some(revoked), None) }),
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct RotateBody {
    /// How long the previous secret keeps signing beside the new one
    /// (default 86400, at most 604800).
    #[serde(default)]
    overlap_seconds: Option<u32>,
}

/// `POST /api/event-subscriptions/{id}/rotate-secret {overlap_seconds?}` →
/// `{event_subscription}` with the new `signing_secret`, shown once.
pub async fn rotate_secret(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(id): Path<String>,
    body: Option<Json<RotateBody>>,
) -> ApiResult<Json<Value>> {
    let overlap_seconds = body.and_then(|Json(b)| b.overlap_seconds).unwrap_or(0);
    let rotated = state
        .webhooks_as(&principal)
        .rotate_secret(pb::RotateSecretRequest {
            id,
            overlap_seconds,
        })
        .await?
        .into_inner();
    Ok(Json(json!({
        "event_subscription": wire::event_subscription(rotated.subscription, Some(rotated.signing_secret)),
    })))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct DeliveriesQuery {
    /// At most this many attempts (default 50, at most 200).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    before: Option<String>,
}

/// `GET /api/event-subscriptions/{id}/deliveries` →
/// `{event_delivery_attempts, deliveries, next_cursor}`, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(id): Path<String>,
    Query(query): Query<DeliveriesQuery>,
) -> ApiResult<Json<Value>> {
    let page = state
        .webhooks_as(&principal)
        .list_delivery_attempts(pb::ListDeliveryAttemptsRequest {
            id,
            limit: query.limit.unwrap_or(0),
            before: query.before,
        })
        .await?
        .into_inner();
    let attempts: Vec<Value> = page
        .attempts
        .into_iter()
        .map(wire::delivery_attempt)
        .collect();
    let mut answer = json!({
        "event_delivery_attempts": attempts,
        "deliveries": attempts,
    });
    // Left out on the last page (API.md §0: unset fields are omitted).
    if let Some(next) = page.next_cursor {
        answer["next_cursor"] = json!(next);
    }
    Ok(Json(answer))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct RedeliverBody {
    /// One event to deliver again.
    #[serde(default)]
    event_id: Option<String>,
    /// Or every event queued for the subscription after this cursor.
    #[serde(default)]
    after_cursor: Option<String>,
}

/// `POST /api/event-subscriptions/{id}/redeliver {event_id | after_cursor}`
/// → 202 `{queued}`.
pub async fn redeliver(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(id): Path<String>,
    Json(body): Json<RedeliverBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    use pb::redeliver_request::What;
    let what = match (
        body.event_id.filter(|id| !id.trim().is_empty()),
        body.after_cursor.filter(|cursor| !cursor.trim().is_empty()),
    ) {
        (Some(event_id), None) => What::EventId(event_id),
        (None, Some(cursor)) => What::AfterCursor(cursor),
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of event_id and after_cursor",
            ));
        }
    };
    let queued = state
        .webhooks_as(&principal)
        .redeliver(pb::RedeliverRequest {
            id,
            what: Some(what),
        })
        .await?
        .into_inner();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "queued": queued.queued })),
    ))
}

/// `POST /api/event-subscriptions/{id}/test` → 202 `{queued: 1}`: a
/// `webhook.test` event for this subscription alone.
pub async fn send_test_event(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let queued = state
        .webhooks_as(&principal)
        .send_test_event(pb::SubscriptionRef { id })
        .await?
        .into_inner();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "queued": queued.queued })),
    ))
}

/// Commands and subscriptions cannot be attached to an app installation
/// yet: a request naming one is refused rather than silently treated as a
/// plain one.
pub(crate) fn no_app_installation(app_installation_id: Option<&str>) -> Result<(), ApiError> {
    if app_installation_id.is_some_and(|id| !id.trim().is_empty()) {
        return Err(ApiError::bad_request(
            "commands and subscriptions cannot be attached to app installations yet; name a bot with bot_user_id instead",
        ));
    }
    Ok(())
}
