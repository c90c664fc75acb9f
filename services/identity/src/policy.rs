//! Who may call each identity RPC (see `clickclack_common::caller_policy`).
//! Read it as a table: method → the kinds of caller it serves. Within a
//! method, the domain decides what that caller may touch (a human manages
//! only the bots the rules allow; an operator may do anything).

use clickclack_common::assertion::CallerKind::{self, Gateway, Operator, Principal, Service};

pub fn callers(method: &str) -> &'static [CallerKind] {
    match method {
        // The gateway's own work: resolving bearer tokens, watching for
        // credential changes, signing people in and out.
        "Authenticate" | "WatchAuthChanges" | "ConsumeMagicLink" | "RevokeSession"
        | "ClaimSetupCode" => &[Gateway],
        // Sign-in links: mailed on request through the gateway, or issued
        // by an operator at the CLI.
        "CreateMagicLink" => &[Gateway, Operator],
        // Lookups anyone inside the system may make.
        "GetUser" | "GetUsers" | "GetWorkspace" | "ListMembers" | "GetMembership" => {
            &[Principal, Gateway, Service, Operator]
        }
        "ListWorkspaces" | "ListBotCommands" => &[Principal, Gateway, Operator],
        // Bot management: a signed-in human (the domain checks their role
        // and ownership) or an operator.
        "CreateBot"
        | "ListBots"
        | "CreateBotToken"
        | "ListBotTokens"
        | "RevokeBotToken"
        | "RotateBotToken"
        | "RemoveBot"
        | "ListOwnedBots"
        | "ListAudit"
        | "CreateSetupCode"
        | "ListSetupCodes"
        | "RevokeSetupCode"
        | "ListAppInstallations"
        | "CreateAppInstallation"
        | "RevokeAppInstallation" => &[Principal, Operator],
        // A signed-in human's own account and workspaces (the domain checks
        // roles; `human()` refuses bots).
        "UpdateProfile" | "DeleteWorkspace" | "TransferOwnership" | "CreateInvite"
        | "AcceptInvite" => &[Principal],
        "CreateWorkspace" | "UpdateWorkspace" => &[Principal, Operator],
        // A bot publishing its own command menu.
        "SetBotCommands" => &[Principal],
        // The webhooks service, before it pushes a bot's events.
        "CheckReaderStandings" | "NoteSubscriptionDisabled" => &[Service],
        // The admin plane: operators only.
        "CreateUser" | "ListUsers" | "AddMember" | "RemoveMember" | "Bootstrap" => &[Operator],
        _ => &[],
    }
}
