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
use clickclack_proto::webhooks as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// A subscription as clients read it; `signing_secret` only when given.
fn subscription_json(subscription: Option<pb::Subscription>, secret: Option<String>) -> Value {
    let Some(s) = subscription else {
        return Value::Null;
    };
    let mut value = json!({
        "id": s.id,
        "workspace_id": s.workspace_id,
        "event_types": s.event_types,
        "channel_ids": s.channel_ids,
        "callback_url": s.callback_url,
        "created_at": s.created_at,
        "status": status_of(&s),
        "pending_deliveries": s.pending,
        "oldest_pending_seconds": s.oldest_pending_seconds,
    });
    let object = value.as_object_mut().expect("an object");
    let mut optional = |key: &str, field: Option<String>| {
        if let Some(field) = field.filter(|text| !text.is_empty()) {
            object.insert(key.into(), json!(field));
        }
    };
    optional("bot_user_id", Some(s.bot_user_id.clone()));
    optional("created_by", s.created_by.clone());
    optional("revoked_at", s.revoked_at.clone());
    optional("disabled_at", s.disabled_at.clone());
    optional("disabled_reason", s.disabled_reason.clone());
    optional("failing_since", s.failing_since.clone());
    optional("previous_secret_until", s.previous_secret_until.clone());
    optional("signing_secret", secret);
    value
}

/// `active`, `failing`, `disabled` or `revoked`.
fn status_of(subscription: &pb::Subscription) -> &'static str {
    if subscription.revoked_at.is_some() {
        "revoked"
    } else if subscription.disabled_at.is_some() {
        "disabled"
    } else if subscription.failing_since.is_some() {
        "failing"
    } else {
        "active"
    }
}

fn attempt_json(attempt: pb::DeliveryAttempt) -> Value {
    let mut value = json!({
        "id": attempt.id,
        "subscription_id": attempt.subscription_id,
        "event_id": attempt.event_id,
        "workspace_id": attempt.workspace_id,
        "event_type": attempt.event_type,
        "attempt": attempt.attempt,
        "request_json": attempt.request_json,
        "response_status": attempt.response_status,
        "response_body": attempt.response_body,
        "latency_ms": attempt.latency_ms,
        "delivery_state": attempt.delivery_state,
        "created_at": attempt.created_at,
        "completed_at": attempt.completed_at,
    });
    if let Some(error) = attempt.error {
        value["error"] = json!(error);
    }
    value
}

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
        .map(|s| subscription_json(Some(s), None))
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
    if body
        .app_installation_id
        .as_deref()
        .is_some_and(|id| !id.trim().is_empty())
    {
        return Err(ApiError::bad_request(
            "app installations are not supported; name a bot with bot_user_id instead",
        ));
    }
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
            "event_subscription": subscription_json(created.subscription, Some(created.signing_secret)),
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
        json!({ "event_subscription": subscription_json(Some(found), None) }),
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
        json!({ "event_subscription": subscription_json(Some(revoked), None) }),
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
        "event_subscription": subscription_json(rotated.subscription, Some(rotated.signing_secret)),
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
    let attempts: Vec<Value> = page.attempts.into_iter().map(attempt_json).collect();
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
