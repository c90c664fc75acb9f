//! HTTP routes, one module per area of API.md.

pub mod account;
pub mod app_installations;
pub mod bot_by_id;
pub mod bots;
pub mod channels;
pub mod command_invocations;
pub mod dms;
pub mod event_subscriptions;
pub mod incoming_webhooks;
pub mod me;
pub mod message_actions;
pub mod messages;
pub mod ops;
pub mod realtime;
pub mod search;
pub mod sessions;
pub mod slash_commands;
pub mod uploads;
pub mod web;
pub mod workspaces;

use crate::error::ApiError;
use crate::policy::{self, Caller, Guard, Rule};
use crate::state::AppState;
use axum::Router;
use axum::handler::Handler;
use axum::http::{Method, Uri};
use axum::routing::{MethodFilter, MethodRouter};

/// Builds the router from [`policy::RULES`]: a route can only be mounted
/// with its rule, which is applied before its handler, and [`finish`]
/// refuses a rule left without a handler.
///
/// [`finish`]: RouteBook::finish
pub struct RouteBook {
    state: AppState,
    router: Router<AppState>,
    mounted: Vec<&'static Rule>,
}

impl RouteBook {
    pub fn new(state: AppState) -> RouteBook {
        RouteBook {
            state,
            router: Router::new(),
            mounted: Vec::new(),
        }
    }

    /// Mounts `handler` for `method path`.
    pub fn mount<H, T>(self, method: &'static str, path: &'static str, handler: H) -> RouteBook
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = method_filter(method);
        self.mount_router(method, path, axum::routing::on(filter, handler))
    }

    /// Mounts a method router (with layers of its own) for `method path`.
    pub fn mount_router(
        mut self,
        method: &'static str,
        path: &'static str,
        route: MethodRouter<AppState>,
    ) -> RouteBook {
        let rule = policy::rule_for(method, path)
            .unwrap_or_else(|| panic!("{method} {path} has no rule in policy::RULES"));
        let route = match rule.caller {
            Caller::Anyone => route,
            _ if rule.applied_by_handler => route,
            _ => route.route_layer(axum::middleware::from_fn_with_state(
                Guard {
                    state: self.state.clone(),
                    rule,
                },
                policy::enforce,
            )),
        };
        self.router = self.router.route(path, route);
        self.mounted.push(rule);
        self
    }

    /// Applies `change` to the routes mounted so far (route layers that
    /// only some routes get).
    pub fn so_far(
        mut self,
        change: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> RouteBook {
        self.router = change(self.router);
        self
    }

    /// The router, once every rule has its handler.
    pub fn finish(self) -> Router<AppState> {
        let missing: Vec<String> = policy::RULES
            .iter()
            .filter(|rule| {
                !self
                    .mounted
                    .iter()
                    .any(|mounted| std::ptr::eq(*mounted, *rule))
            })
            .map(|rule| format!("{} {}", rule.method, rule.path))
            .collect();
        assert!(missing.is_empty(), "rules without a handler: {missing:?}");
        self.router
    }
}

fn method_filter(method: &str) -> MethodFilter {
    match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "PATCH" => MethodFilter::PATCH,
        "DELETE" => MethodFilter::DELETE,
        other => panic!("no method filter for {other}"),
    }
}

/// Unknown routes answer 404 JSON, never HTML.
pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// `?bot_user_id=`: only what this bot has (hooks, commands).
#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct BotFilter {
    /// Only this bot's.
    bot_user_id: Option<String>,
}

impl BotFilter {
    pub fn bot(self) -> Option<String> {
        self.bot_user_id.filter(|id| !id.trim().is_empty())
    }
}

/// The part of `path` that is itself a credential: an incoming webhook's
/// secret (`/api/hooks/{id}/{secret}`) or a command's response token
/// (`/api/command-responses/{token}`). Such a path is its own rate-limit
/// bucket, and is never logged whole.
pub fn path_credential(path: &str) -> Option<&str> {
    if let Some(token) = path.strip_prefix("/api/command-responses/") {
        return Some(token);
    }
    let rest = path.strip_prefix("/api/hooks/")?;
    if rest.starts_with("slash/") {
        return None;
    }
    rest.split_once('/').map(|(_, secret)| secret)
}

/// `path` as logs may show it: a credential in it is masked.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path_credential(path) {
        Some(secret) if !secret.is_empty() => {
            let kept = &path[..path.len() - secret.len()];
            std::borrow::Cow::Owned(format!("{kept}***"))
        }
        _ => std::borrow::Cow::Borrowed(path),
    }
}

#[cfg(test)]
mod tests {
    use super::{loggable_path, path_credential};

    #[test]
    fn credentials_in_paths_are_found_and_masked() {
        assert_eq!(
            path_credential("/api/hooks/ihk_1/cch_secret"),
            Some("cch_secret")
        );
        assert_eq!(
            path_credential("/api/command-responses/ccr_tok"),
            Some("ccr_tok")
        );
        assert_eq!(path_credential("/api/hooks/slash/chn_1"), None);
        assert_eq!(path_credential("/api/channels/chn_1/messages"), None);
        assert_eq!(
            loggable_path("/api/hooks/ihk_1/cch_secret"),
            "/api/hooks/ihk_1/***"
        );
        assert_eq!(
            loggable_path("/api/command-responses/ccr_tok"),
            "/api/command-responses/***"
        );
        assert_eq!(
            loggable_path("/api/hooks/slash/chn_1"),
            "/api/hooks/slash/chn_1"
        );
    }
}
