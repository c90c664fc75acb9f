//! Telling people their subscription was disabled (410 Gone, or five days
//! of failures): identity writes the audit entry and sends the private
//! `event_subscription.disabled` event. Owed notices live in the table
//! (`owner_told_at` unset), so one that identity could not take is given
//! on a later round, never dropped.

use crate::error::WebhooksError;
use crate::store::subscriptions;
use clickclack_common::db::{self, PgPool};
use clickclack_common::grpc::Peer;
use clickclack_proto::identity as pb;
use clickclack_proto::identity::identity_service_client::IdentityServiceClient;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often owed notices are looked for.
const ROUND: Duration = Duration::from_secs(5);

/// Gives every owed notice; answers how many were given.
pub async fn give_owed(
    pool: &PgPool,
    identity: &IdentityServiceClient<Peer>,
) -> Result<usize, WebhooksError> {
    let owed = db::run(pool, |conn| {
        Ok::<_, WebhooksError>(subscriptions::owed_a_notice(conn, 100)?)
    })
    .await?;
    let mut given = 0;
    for row in owed {
        identity
            .clone()
            .note_subscription_disabled(pb::NoteSubscriptionDisabledRequest {
                workspace_id: row.workspace_id.clone(),
                subscription_id: row.id.clone(),
                bot_user_id: row.bot_user_id.clone().unwrap_or_default(),
                created_by: row.created_by.clone(),
                reason: row.disabled_reason.clone().unwrap_or_default(),
                callback_url: row.callback_url.clone(),
            })
            .await?;
        let id = row.id.clone();
        db::run(pool, move |conn| {
            Ok::<_, WebhooksError>(subscriptions::mark_told(conn, &id)?)
        })
        .await?;
        tracing::warn!(subscription = %row.id, reason = ?row.disabled_reason, "event subscription disabled; its people were told");
        given += 1;
    }
    Ok(given)
}

/// Gives owed notices every [`ROUND`] until `shutdown`.
pub async fn run(pool: PgPool, identity: IdentityServiceClient<Peer>, shutdown: CancellationToken) {
    loop {
        if let Err(error) = give_owed(&pool, &identity).await {
            tracing::warn!(%error, "webhooks: a disabled subscription's notice waits for identity");
        }
        tokio::select! {
            _ = tokio::time::sleep(ROUND) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
