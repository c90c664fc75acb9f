//! Who may call each webhooks RPC (see `clickclack_common::caller_policy`).
//! Within a method, `domain::access` decides which subscriptions a caller
//! may touch.

use clickclack_common::assertion::CallerKind::{self, Gateway, Operator, Principal};

pub fn callers(method: &str) -> &'static [CallerKind] {
    match method {
        // Managing subscriptions: a member or bot through the gateway, or
        // an operator at the CLI.
        "CreateSubscription"
        | "ListSubscriptions"
        | "GetSubscription"
        | "RevokeSubscription"
        | "RotateSecret"
        | "ListDeliveryAttempts"
        | "Redeliver"
        | "SendTestEvent"
        | "CreateIncomingHook"
        | "ListIncomingHooks"
        | "RevokeIncomingHook"
        | "CreateSlashCommand"
        | "ListSlashCommands"
        | "RevokeSlashCommand"
        | "RotateSlashCommandSecret"
        | "ListInvocations"
        | "SetInteractivity"
        | "GetInteractivity"
        | "RemoveInteractivity" => &[Principal, Operator],
        // A member invoking a command (the gateway checked they may read
        // where they typed it) or pressing a button (that they may read
        // the message), and waiting for a socket bot's answer.
        "Invoke" | "InvokeAction" | "AwaitAck" => &[Principal],
        // The gateway scoping a caller to a subscription's workspace, and
        // checking a POST to an incoming webhook's URL.
        "LocateSubscription" | "ResolveIncomingHook" | "RedeemResponseToken" => &[Gateway],
        _ => &[],
    }
}
