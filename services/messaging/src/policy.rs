//! Who may call each messaging RPC (see `clickclack_common::caller_policy`).
//! Chat reads and writes act for a user the gateway authenticated; the
//! store then checks that user's membership in every transaction.

use clickclack_common::assertion::CallerKind::{self, Gateway, Operator, Principal};

pub fn callers(method: &str) -> &'static [CallerKind] {
    match method {
        // Which workspace an id lives in: the gateway, before it knows
        // which of a human's workspaces a request is for.
        "LocateResource" => &[Gateway],
        // `clickclack admin bootstrap` creates #general as the new owner.
        "CreateChannel" => &[Principal, Operator],
        "ListChannels" | "UpdateChannel" | "GetChannel" | "PostMessage" | "GetMessage"
        | "GetMessageByNonce" | "ListMessages" | "EditMessage" | "DeleteMessage" | "GetThread"
        | "OpenConversation" | "ListConversations" | "GetConversation" | "HideConversation"
        | "ShowConversation" | "AddReaction" | "RemoveReaction" | "MarkRead" | "CreateUpload"
        | "GetUploadByNonce" | "DownloadUpload" | "AttachUpload" | "Search" => &[Principal],
        _ => &[],
    }
}
