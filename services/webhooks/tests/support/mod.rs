//! What the webhooks tests share: the test kit's receiver for deliveries
//! (a real HTTP listener on a loopback port) and subscription rows.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use chrono::Utc;
use clickclack_webhooks::store::subscriptions::SubscriptionRow;

pub use clickclack_testkit::webhooks::{Answer, Receiver};

/// A receiver on a free loopback port that answers every request with
/// `answer`: its base URL (any path on it reaches the receiver) and it.
pub async fn receiver(answer: Answer) -> (String, Receiver) {
    let receiver = Receiver::answering(answer).await;
    (receiver.base.clone(), receiver)
}

/// A whole raw answer: `status` (`"200 OK"`), extra `headers` (each ending
/// in `\r\n`) and `body`.
pub fn answer(status: &str, headers: &str, body: &str) -> Answer {
    Answer::raw(status, headers, body)
}

/// How long a test waits for a delivery it expects.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// An active subscription of `usr_bot` in `wsp_1` to `url`.
pub fn subscription(id: &str, url: &str, sealed_secret: Vec<u8>) -> SubscriptionRow {
    SubscriptionRow {
        id: id.into(),
        workspace_id: "wsp_1".into(),
        bot_user_id: Some("usr_bot".into()),
        callback_url: url.into(),
        event_types: vec!["*".into()],
        channel_ids: Vec::new(),
        sealed_secret,
        previous_sealed_secret: None,
        previous_secret_until: None,
        created_by: None,
        created_at: Utc::now(),
        revoked_at: None,
        disabled_at: None,
        disabled_reason: None,
        failing_since: None,
        owner_told_at: None,
    }
}
