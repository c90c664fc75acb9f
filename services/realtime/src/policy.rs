//! Who may call each realtime RPC (see `clickclack_common::caller_policy`).

use clickclack_common::assertion::CallerKind::{self, Gateway, Principal, Service};

pub fn callers(method: &str) -> &'static [CallerKind] {
    match method {
        // Only the producers (messaging, identity) write the log.
        "Append" => &[Service],
        // Readers act for an authenticated user; what they see is filtered
        // by that user.
        "List" | "Subscribe" | "Backfill" => &[Principal],
        // A gateway follows the whole log and filters per socket itself;
        // the webhooks service does the same per subscription (with the
        // same `common::visibility` rule).
        "Follow" => &[Gateway, Service],
        // Ephemeral events: typing and progress from users, live-only bot
        // notices from identity.
        "Publish" => &[Principal, Service],
        _ => &[],
    }
}
