//! Uploads and attachments (API.md §7).

use super::messages::with_nonce_header;
use crate::error::{ApiError, ApiResult};
use crate::middleware::CorrelationId;
use crate::principal::Principal;
use crate::render;
use crate::state::AppState;
use axum::Json;
use axum::extract::multipart::Multipart;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clickclack_proto::messaging as pb;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct UploadQuery {
    /// Read by the policy layer, which scopes the request to it before the
    /// handler runs; declared here for the OpenAPI document.
    #[serde(default)]
    #[allow(dead_code)]
    workspace_id: String,
    #[serde(default)]
    nonce: Option<String>,
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("file is larger than the {limit}-byte limit"),
    )
}

/// `POST /api/uploads?workspace_id=&nonce=` multipart `file` → 201 `{upload}`.
pub async fn create(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Query(query): Query<UploadQuery>,
    mut multipart: Multipart,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let limit = state.upload_max_bytes;
    let mut file = None;
    loop {
        let field = multipart.next_field().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large(limit)
            } else {
                ApiError::bad_request(format!("invalid multipart body: {}", e.body_text()))
            }
        })?;
        let Some(mut field) = field else { break };
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("upload").to_owned();
        let content_type = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let mut content = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large(limit)
            } else {
                ApiError::bad_request(format!("invalid multipart body: {}", e.body_text()))
            }
        })? {
            if (content.len() + chunk.len()) as u64 > limit {
                return Err(too_large(limit));
            }
            content.extend_from_slice(&chunk);
        }
        file = Some((filename, content_type, content));
        break;
    }
    let (filename, content_type, content) =
        file.ok_or_else(|| ApiError::bad_request("multipart field `file` is required"))?;
    let reply = state
        .messaging_as(&principal)
        .create_upload(pb::CreateUploadRequest {
            filename,
            content_type,
            content,
            nonce: query.nonce,
        })
        .await?
        .into_inner();
    let status = if reply.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({ "upload": render::require(reply.upload, "upload")? })),
    ))
}

/// `GET /api/uploads/by-nonce?workspace_id=&nonce=` → `{upload}`.
pub async fn by_nonce(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Query(query): Query<UploadQuery>,
) -> Response {
    let result = async {
        let nonce = query
            .nonce
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::bad_request("nonce is required"))?;
        let reply = state
            .messaging_as(&principal)
            .get_upload_by_nonce(pb::GetUploadByNonceRequest { nonce })
            .await?
            .into_inner();
        Ok(Json(json!({ "upload": render::require(reply.upload, "upload")? })).into_response())
    }
    .await;
    with_nonce_header(result, "x-clickclack-upload-nonce")
}

/// `GET /api/uploads/{id}`: the file itself, for workspace members.
pub async fn download(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Path(upload_id): Path<String>,
) -> ApiResult<Response> {
    let reply = state
        .messaging_as(&principal)
        .download_upload(pb::DownloadUploadRequest { upload_id })
        .await?
        .into_inner();
    let upload = render::require(reply.upload, "upload")?;
    // Only safe characters go into the header; the real name is in the JSON.
    let ascii_name: String = upload
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, upload.content_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii_name}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        reply.content,
    )
        .into_response())
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct AttachBody {
    upload_id: String,
}

/// `POST /api/messages/{id}/attachments` `{upload_id}` → 200 `{message, event}`.
pub async fn attach(
    State(state): State<AppState>,
    principal: Arc<Principal>,
    Extension(correlation): Extension<CorrelationId>,
    Path(message_id): Path<String>,
    Json(body): Json<AttachBody>,
) -> ApiResult<Json<serde_json::Value>> {
    let reply = state
        .messaging_as(&principal)
        .attach_upload(pb::AttachUploadRequest {
            message_id,
            upload_id: body.upload_id,
            correlation_id: Some(correlation.0),
        })
        .await?
        .into_inner();
    let message = render::message(&state, &render::require(reply.message, "message")?).await?;
    Ok(Json(
        json!({ "message": message, "event": render::optional_event(reply.event.as_ref()) }),
    ))
}
