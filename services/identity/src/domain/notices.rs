//! Notices other services ask identity to give, because identity knows
//! who the people are and keeps the audit trail.

use super::audit::{self, Actor};
use crate::error::Result;
use crate::store::{members, users};
use clickclack_common::ids::{UserId, WorkspaceId};
use clickclack_common::outbox::{EventDraft, record};
use diesel::{Connection, PgConnection};
use serde_json::json;

/// What the webhooks service reports of a subscription it disabled.
pub struct SubscriptionDisabled {
    pub workspace_id: WorkspaceId,
    pub subscription_id: String,
    pub bot_user_id: Option<UserId>,
    pub created_by: Option<UserId>,
    pub reason: String,
    pub callback_url: String,
}

/// Records the audit entry and tells, privately, the bot's owner and the
/// subscription's maker (those still members), or else the workspace's
/// owners and moderators. Answers who was told.
pub fn subscription_disabled(
    conn: &mut PgConnection,
    notice: &SubscriptionDisabled,
) -> Result<Vec<UserId>> {
    conn.transaction(|conn| {
        let owner = match &notice.bot_user_id {
            Some(bot) => users::find(conn, bot)?.and_then(|user| user.owner_user_id),
            None => None,
        };
        let mut told: Vec<UserId> = Vec::new();
        for person in [owner, notice.created_by.clone()].into_iter().flatten() {
            if !told.contains(&person)
                && members::find(conn, &notice.workspace_id, &person)?.is_some()
            {
                told.push(person);
            }
        }
        if told.is_empty() {
            told = members::list_with_users(conn, &notice.workspace_id)?
                .into_iter()
                .filter(|(member, user)| {
                    member.role.manages_workspace()
                        && user.kind != clickclack_common::roles::UserKind::Bot
                })
                .map(|(member, _)| member.user_id)
                .collect();
        }
        record(
            conn,
            EventDraft::new("event_subscription.disabled", &notice.workspace_id)
                .audience(told.iter().map(|id| id.to_string()).collect())
                .with("subscription_id", json!(notice.subscription_id))
                .with(
                    "bot_user_id",
                    notice.bot_user_id.as_ref().map(|id| json!(id)),
                )
                .with("callback_url", json!(notice.callback_url))
                .with("reason", json!(notice.reason)),
        )?;
        audit::record(
            conn,
            &notice.workspace_id,
            &Actor::Operator,
            "event_subscription.disabled",
            &notice.subscription_id,
            json!({
                "by": "webhooks",
                "reason": notice.reason,
                "bot_user_id": notice.bot_user_id,
                "callback_url": notice.callback_url,
                "told": told,
            }),
        )?;
        Ok(told)
    })
}
