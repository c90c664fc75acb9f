//! The JSON shapes of API.md, built from the gRPC messages. The gateway
//! answers with them and the CLI's `--json` prints them, so both speak the
//! same field names.

use clickclack_proto::identity as pb;
use clickclack_proto::realtime as rt;
use clickclack_proto::webhooks as hooks;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// `User` of API.md §2. Emails stay private: they are not part of it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct User {
    pub id: String,
    pub kind: String,
    pub display_name: String,
    pub handle: String,
    pub avatar_url: String,
    pub created_at: String,
    pub owner_user_id: Option<String>,
}

impl From<pb::User> for User {
    fn from(user: pb::User) -> Self {
        User {
            id: user.id,
            kind: user.kind,
            display_name: user.display_name,
            handle: user.handle,
            avatar_url: user.avatar_url,
            created_at: user.created_at,
            owner_user_id: user.owner_user_id,
        }
    }
}

/// `Workspace` of API.md §3, with the caller's `role`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Workspace {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub route_id: String,
    pub icon_url: String,
    pub created_at: String,
    pub role: Option<String>,
}

impl Workspace {
    pub fn with_role(workspace: pb::Workspace, role: Option<String>) -> Self {
        Workspace {
            // Routes use the slug: readable, unique, and accepted wherever an id is.
            route_id: workspace.slug.clone(),
            id: workspace.id,
            slug: workspace.slug,
            name: workspace.name,
            icon_url: workspace.icon_url,
            created_at: workspace.created_at,
            role,
        }
    }
}

impl From<pb::Workspace> for Workspace {
    fn from(workspace: pb::Workspace) -> Self {
        let role = workspace.role.clone();
        Workspace::with_role(workspace, role)
    }
}

/// `BotToken` of API.md §10: metadata only, never the raw token or its hash.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BotToken {
    pub id: String,
    pub bot_user_id: String,
    pub workspace_id: String,
    pub owner_user_id: Option<String>,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// The token this one replaced by rotation.
    pub replaces_token_id: Option<String>,
}

impl From<pb::BotToken> for BotToken {
    fn from(token: pb::BotToken) -> Self {
        BotToken {
            id: token.id,
            bot_user_id: token.bot_user_id,
            workspace_id: token.workspace_id,
            owner_user_id: token.owner_user_id,
            name: token.name,
            scopes: token.scopes,
            created_by: token.created_by,
            created_at: token.created_at,
            last_used_at: token.last_used_at,
            revoked_at: token.revoked_at,
            replaces_token_id: token.replaces_token_id,
        }
    }
}

/// One audit-log entry; `detail` is the JSON object identity recorded, and
/// `actor_user_id` is absent for an operator at the CLI.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEntry {
    pub id: String,
    pub workspace_id: String,
    pub actor_user_id: Option<String>,
    pub action: String,
    pub target_id: String,
    pub detail: serde_json::Value,
    pub created_at: String,
}

impl From<pb::AuditEntry> for AuditEntry {
    fn from(entry: pb::AuditEntry) -> Self {
        AuditEntry {
            detail: without_nulls(
                serde_json::from_str(&entry.detail_json).unwrap_or_else(|_| serde_json::json!({})),
            ),
            id: entry.id,
            workspace_id: entry.workspace_id,
            actor_user_id: entry.actor_user_id,
            action: entry.action,
            target_id: entry.target_id,
            created_at: entry.created_at,
        }
    }
}

/// Drops `null` members of an object: unset fields are omitted (API.md §0).
fn without_nulls(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(fields) => {
            serde_json::Value::Object(fields.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    }
}

/// A workspace membership, for operators.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Member {
    pub workspace_id: String,
    pub user: Option<User>,
    pub role: String,
    pub joined_at: String,
}

impl From<pb::Member> for Member {
    fn from(member: pb::Member) -> Self {
        Member {
            workspace_id: member.workspace_id,
            user: member.user.map(User::from),
            role: member.role,
            joined_at: member.joined_at,
        }
    }
}

/// `Event` of API.md §8: as sockets, event lists and webhook deliveries
/// carry it.
pub fn event(event: &rt::Event) -> Value {
    let payload: Value = serde_json::from_str(&event.payload_json).unwrap_or_else(|_| json!({}));
    let mut out = Map::new();
    out.insert("id".into(), json!(event.id));
    // "" for ephemeral events (and durable ones realtime has not taken yet).
    out.insert("cursor".into(), json!(event.cursor));
    out.insert("type".into(), json!(event.r#type));
    out.insert("workspace_id".into(), json!(event.workspace_id));
    if let Some(channel_id) = &event.channel_id {
        out.insert("channel_id".into(), json!(channel_id));
    }
    if let Some(seq) = event.seq {
        out.insert("seq".into(), json!(seq));
    }
    out.insert("created_at".into(), json!(event.created_at));
    out.insert("payload".into(), payload);
    Value::Object(out)
}

/// An event subscription as clients read it (upstream's shape and ours); `signing_secret` only when given.
pub fn event_subscription(
    subscription: Option<hooks::Subscription>,
    secret: Option<String>,
) -> Value {
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
fn status_of(subscription: &hooks::Subscription) -> &'static str {
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

pub fn delivery_attempt(attempt: hooks::DeliveryAttempt) -> Value {
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

/// Where an incoming webhook is posted to (its secret is the last segment).
pub fn incoming_hook_path(id: &str, secret: &str) -> String {
    format!("/api/hooks/{id}/{secret}")
}

/// An incoming webhook as clients read it (never its secret).
pub fn incoming_hook(hook: &hooks::IncomingHook) -> Value {
    with_present(
        json!({
            "id": hook.id,
            "workspace_id": hook.workspace_id,
            "channel_id": hook.channel_id,
            "bot_user_id": hook.bot_user_id,
            "name": hook.name,
            "created_at": hook.created_at,
        }),
        [
            ("created_by", &hook.created_by),
            ("revoked_at", &hook.revoked_at),
            ("last_used_at", &hook.last_used_at),
        ],
    )
}

/// `value` with each optional field that is present (absent ones are left
/// out, not `null`, as upstream clients expect).
pub fn with_present<const N: usize>(
    mut value: Value,
    fields: [(&str, &Option<String>); N],
) -> Value {
    for (key, field) in fields {
        if let Some(field) = field {
            value[key] = json!(field);
        }
    }
    value
}

/// A slash command as clients read it (upstream's shape, plus how it is
/// delivered; never its secret: the gateway adds `signing_secret` when one
/// was just made).
pub fn slash_command(command: &hooks::SlashCommand) -> Value {
    with_present(
        json!({
            "id": command.id,
            "workspace_id": command.workspace_id,
            "command": command.command,
            "description": command.description,
            "callback_url": command.callback_url,
            "delivery": command.delivery,
            "bot_user_id": command.bot_user_id,
            "created_at": command.created_at,
        }),
        [
            ("created_by", &command.created_by),
            ("revoked_at", &command.revoked_at),
        ],
    )
}

/// Where a bot POSTs its follow-ups to an invocation.
pub fn command_response_path(token: &str) -> String {
    format!("/api/command-responses/{token}")
}

/// A slash-command invocation as its command's managers read it in the
/// log (upstream's `SlashCommandInvocation`, plus ours).
pub fn command_invocation(invocation: &hooks::Invocation) -> Value {
    with_present(
        json!({
            "id": invocation.id,
            "command_id": invocation.command_id,
            "command": invocation.command,
            "workspace_id": invocation.workspace_id,
            "user_id": invocation.user_id,
            "bot_user_id": invocation.bot_user_id,
            "text": invocation.text,
            "delivery": invocation.delivery,
            "response_status": invocation.response_status.unwrap_or_default(),
            "response_body": invocation.response_body,
            "error": invocation.error.clone().unwrap_or_default(),
            "responses_used": invocation.responses_used,
            "created_at": invocation.created_at,
        }),
        [
            ("channel_id", &invocation.channel_id),
            ("direct_conversation_id", &invocation.direct_conversation_id),
            ("thread_root_id", &invocation.thread_root_id),
            ("acked_at", &invocation.acked_at),
            ("completed_at", &invocation.completed_at),
            ("message_id", &invocation.message_id),
            ("action_id", &invocation.action_id),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_bot_json_has_no_owner_key_and_no_email() {
        let user = User::from(pb::User {
            id: "usr_1".into(),
            kind: "bot".into(),
            display_name: "Deploy".into(),
            handle: "deploy".into(),
            email: Some("secret@example.com".into()),
            ..Default::default()
        });
        let json = serde_json::to_value(&user).unwrap();
        assert!(json.get("owner_user_id").is_none());
        assert!(json.get("email").is_none());
        assert_eq!(json["kind"], "bot");
    }
}
