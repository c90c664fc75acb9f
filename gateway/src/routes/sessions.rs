//! Human sign-in (API.md §10): magic links become sessions.

use crate::cookies;
use crate::early_errors::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::mail::Mailer;
use crate::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::AppendHeaders;
use clickclack_common::token::RawToken;
use clickclack_common::wire;
use clickclack_proto::identity as pb;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ConsumeBody {
    #[serde(default)]
    token: String,
}

/// `POST /api/auth/magic/consume {token}` →
/// `{user, session: {token, expires_at}, token, csrf_token}`; also starts a
/// browser session (the `cc_session` cookie, `HttpOnly`) for the web app.
pub async fn consume(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<ConsumeBody>,
) -> ApiResult<(AppendHeaders<[(HeaderName, HeaderValue); 2]>, Json<Value>)> {
    if body.token.trim().is_empty() {
        return Err(ApiError::bad_request("token is required"));
    }
    let opened = state
        .identity()
        .consume_magic_link(pb::ConsumeMagicLinkRequest {
            token: body.token.trim().to_owned(),
        })
        .await?
        .into_inner();
    let user = opened.user.map(wire::User::from);
    let session = RawToken::from_presented(opened.session_token.clone());
    let max_age = chrono::DateTime::parse_from_rfc3339(&opened.expires_at)
        .map(|at| {
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .num_seconds()
                .max(0)
        })
        .unwrap_or(0);
    let secure = cookies::behind_https(state.public_url.as_deref(), &headers);
    let [session_cookie, csrf_cookie] = cookies::start_session(&session, max_age, secure);
    Ok((
        AppendHeaders([(SET_COOKIE, session_cookie), (SET_COOKIE, csrf_cookie)]),
        Json(json!({
            "user": user,
            "session": { "token": opened.session_token, "expires_at": opened.expires_at },
            "token": opened.session_token,
            "csrf_token": cookies::csrf_token(&session),
        })),
    ))
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct RequestBody {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
}

/// `POST /api/auth/magic/request {email, display_name?}`: mails a sign-in
/// link (creating the account when the address is new) and answers 202
/// whatever the address, so the answer reveals nothing. In `clickclack dev`
/// without SMTP, a caller on this machine gets 201 `{magic_link, token}`
/// and the link is printed; with no transport at all, 501.
pub async fn request(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
    Json(body): Json<RequestBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let email = body.email.trim().to_owned();
    if email.is_empty() || email.len() > 254 || email.parse::<lettre::Address>().is_err() {
        return Err(ApiError::bad_request("a valid email is required"));
    }
    let dev_reply = match state.mailer.as_ref() {
        Mailer::Disabled => {
            return Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "this deployment has no mail transport: set CLICKCLACK_SMTP_URL, or ask an operator for a sign-in link (clickclack admin magic-link create)",
            ));
        }
        Mailer::DevConsole if !client.0.ip().is_loopback() => {
            return Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "no mail transport; development sign-in links are only given to this machine",
            ));
        }
        Mailer::DevConsole => true,
        Mailer::Smtp { .. } => false,
    };
    let link = state
        .identity()
        .create_magic_link(pb::CreateMagicLinkRequest {
            email: email.clone(),
            display_name: body.display_name.trim().to_owned(),
            ttl_seconds: 0,
        })
        .await?
        .into_inner();
    let url = format!("{}/?magic={}", link_base(&state, &headers), link.token);
    if dev_reply {
        // Development only: the console is where the developer looks.
        println!("sign-in link for {email}: {url}");
        return Ok((
            StatusCode::CREATED,
            Json(json!({ "magic_link": url, "token": link.token })),
        ));
    }
    state.mailer.send_magic_link(&email, url);
    Ok((StatusCode::ACCEPTED, Json(json!({ "status": "accepted" }))))
}

/// Where sign-in links point: the configured public URL, else this request's
/// own origin (fine for development; set CLICKCLACK_PUBLIC_URL in production).
pub fn link_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.public_url {
        return url.clone();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// `POST /api/auth/logout` → `{ok: true}`: ends the calling session (and
/// clears the browser's cookies).
pub async fn logout(
    State(state): State<AppState>,
    principal: Arc<Principal>,
) -> ApiResult<(AppendHeaders<[(HeaderName, HeaderValue); 2]>, Json<Value>)> {
    state
        .identity()
        .revoke_session(pb::RevokeSessionRequest {
            token: principal.bearer().expose().to_owned(),
        })
        .await?;
    let [session_cookie, csrf_cookie] = cookies::end_session();
    Ok((
        AppendHeaders([(SET_COOKIE, session_cookie), (SET_COOKIE, csrf_cookie)]),
        Json(json!({ "ok": true })),
    ))
}
