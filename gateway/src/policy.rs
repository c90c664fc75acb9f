//! Who may call which route: the gateway's one authorization table.
//!
//! Every route the gateway serves has one [`Rule`] in [`RULES`]: the
//! credential it needs ([`Caller`]), the workspace it acts in ([`Target`])
//! and, in words, who else may act and which service enforces that. The
//! router is built from this table ([`crate::routes::api`]) and the OpenAPI
//! document is generated from it ([`crate::openapi`]), so neither can drift
//! from what is enforced.
//!
//! The gateway applies a rule before the handler runs ([`enforce`]): it
//! authenticates the caller, scopes a session to the target workspace
//! (membership), checks the scopes, refuses bot tokens on people-only
//! routes and bot tokens bound to another workspace. What depends on the
//! resource itself (roles, channel and DM membership, ownership of a bot or
//! message) is decided by the service that owns the data; its store is the
//! final guard.

use crate::auth;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::{
    account, app_installations, bots, channels, command_invocations, dms, messages, realtime,
    search, sessions,
};
use crate::routes::{
    event_subscriptions, incoming_webhooks, message_actions, slash_commands, uploads, workspaces,
};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clickclack_common::ids;
use clickclack_common::scopes::Scope::{self, *};
use std::sync::Arc;

/// The credential a route needs.
#[derive(Debug, Clone, Copy)]
pub enum Caller {
    /// No credential: signing in, the web app, health checks. A setup-code
    /// claim carries its own secret in the body.
    Anyone,
    /// A human's session; bot tokens get 403.
    Person,
    /// A bot token or a session holding every one of these scopes
    /// (sessions hold them all).
    Scopes(&'static [Scope]),
    /// A bot token holding every one of these bot scopes, or any session:
    /// the service decides what a person may (slash commands, whose scope
    /// sessions do not hold).
    BotScopes(&'static [Scope]),
}

/// The workspace a route acts in, which a session is scoped to and a bot
/// token must be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// None, or only the caller's own things.
    Own,
    /// `{id}` in the path: a workspace id or slug.
    WorkspaceInPath,
    /// `{id}` in the path: a channel, message, DM or upload; the gateway
    /// looks up its workspace. An unknown id, or one in a workspace the
    /// human is not in, is 404.
    ResourceInPath,
    /// `?workspace_id=` (id or slug).
    WorkspaceInQuery,
    /// `workspace_id` in the JSON body: the handler scopes once it has read
    /// the body.
    WorkspaceInBody,
}

/// A JSON schema of a request body or query, for the OpenAPI document.
pub type SchemaFn = fn(&mut schemars::SchemaGenerator) -> schemars::Schema;

/// The schema of `T`, as a [`SchemaFn`].
pub fn schema<T: schemars::JsonSchema>(
    generator: &mut schemars::SchemaGenerator,
) -> schemars::Schema {
    generator.subschema_for::<T>()
}

/// What a request sends.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    None,
    Json(SchemaFn),
    /// `multipart/form-data` with a `file` field.
    Multipart,
}

/// One route: its authorization and what the API reference says of it.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub method: &'static str,
    pub path: &'static str,
    pub caller: Caller,
    pub target: Target,
    /// Who may act beyond holding the credential, and who enforces it.
    pub who: &'static str,
    /// Section of the API reference (OpenAPI tag).
    pub area: &'static str,
    pub summary: &'static str,
    /// The success status.
    pub status: u16,
    pub body: Body,
    pub query: Option<SchemaFn>,
    /// The handler applies this rule itself ([`Rule::admits`]) because it
    /// must act before authenticating: the WebSocket listens for credential
    /// changes first, and may carry its token in a subprotocol.
    pub applied_by_handler: bool,
}

const fn rule(
    method: &'static str,
    path: &'static str,
    caller: Caller,
    target: Target,
    who: &'static str,
) -> Rule {
    Rule {
        method,
        path,
        caller,
        target,
        who,
        area: "",
        summary: "",
        status: 200,
        body: Body::None,
        query: None,
        applied_by_handler: false,
    }
}

impl Rule {
    const fn doc(mut self, area: &'static str, summary: &'static str) -> Rule {
        self.area = area;
        self.summary = summary;
        self
    }
    const fn status(mut self, status: u16) -> Rule {
        self.status = status;
        self
    }
    const fn json(mut self, body: SchemaFn) -> Rule {
        self.body = Body::Json(body);
        self
    }
    const fn multipart(mut self) -> Rule {
        self.body = Body::Multipart;
        self
    }
    const fn query(mut self, query: SchemaFn) -> Rule {
        self.query = Some(query);
        self
    }
    const fn applied_by_handler(mut self) -> Rule {
        self.applied_by_handler = true;
        self
    }

    /// Whether a principal holds what the route needs (authentication and
    /// the target workspace aside).
    pub fn admits(&self, principal: &Principal) -> Result<(), ApiError> {
        match self.caller {
            Caller::Anyone => Ok(()),
            Caller::Person => principal.require_session(),
            Caller::Scopes(needed) => needed
                .iter()
                .try_for_each(|&scope| principal.require(scope)),
            Caller::BotScopes(_) if principal.is_session() => Ok(()),
            Caller::BotScopes(needed) => needed
                .iter()
                .try_for_each(|&scope| principal.require(scope)),
        }
    }
}

use Caller::{Anyone, BotScopes, Person, Scopes};
use Target::{Own, ResourceInPath, WorkspaceInBody, WorkspaceInPath, WorkspaceInQuery};

const MEMBERS: &str = "members of the workspace (identity)";
const MANAGERS: &str = "workspace owners and moderators (identity)";
const BOT_MANAGERS: &str = "service bots: workspace owners and moderators; a user-owned bot: its owner, and managers may list and revoke its tokens (identity)";
const CHANNEL_READERS: &str = "members who can see the channel or DM (messaging)";
const DM_MEMBERS: &str = "members of the DM (messaging)";
const AUTHOR: &str = "the message's author; moderators may delete (messaging)";
const HOOK_MANAGERS: &str = "workspace owners and moderators; a bot's owner for its bot; the bot itself; the member who made one without a bot (webhooks)";

const COMMAND_MANAGERS: &str =
    "workspace owners and moderators; a bot's owner for its bot; the bot itself (webhooks)";

/// Every route the gateway serves, in API order.
pub static RULES: &[Rule] = &[
    // Account and sign-in (API.md §1, §11).
    rule("GET", "/api/me", Scopes(&[ProfileRead]), Own, "anyone signed in").doc("account", "The caller: user, workspace, role and scopes"),
    rule("PATCH", "/api/me", Person, Own, "the human themself").doc("account", "Change your display name, handle or avatar").json(schema::<account::ProfileBody>),
    rule("GET", "/api/me/bots", Person, Own, "the human themself").doc("bots", "Bots you own, across workspaces"),
    rule("POST", "/api/auth/magic/request", Anyone, Own, "anyone (rate limited per address)").doc("account", "Mail a sign-in link").status(202).json(schema::<sessions::RequestBody>),
    rule("POST", "/api/auth/magic/consume", Anyone, Own, "whoever holds the link's token").doc("account", "Exchange a sign-in link for a session").json(schema::<sessions::ConsumeBody>),
    rule("POST", "/api/auth/logout", Person, Own, "the session's human").doc("account", "Sign out: revokes the session"),
    // Workspaces and people (API.md §2, §11).
    rule("GET", "/api/workspaces", Scopes(&[WorkspacesRead]), Own, "anyone signed in; a bot sees its own workspace").doc("workspaces", "Workspaces the caller belongs to"),
    rule("POST", "/api/workspaces", Person, Own, "any human").doc("workspaces", "Found a workspace (you become its owner)").status(201).json(schema::<account::NewWorkspace>),
    rule("GET", "/api/workspaces/{id}", Scopes(&[WorkspacesRead]), WorkspaceInPath, MEMBERS).doc("workspaces", "One workspace"),
    rule("PATCH", "/api/workspaces/{id}", Person, WorkspaceInPath, MANAGERS).doc("workspaces", "Rename or restyle a workspace").json(schema::<account::WorkspaceChanges>),
    rule("DELETE", "/api/workspaces/{id}", Person, WorkspaceInPath, "the workspace's owner (identity)").doc("workspaces", "Delete a workspace (soft): its tokens and sessions stop"),
    rule("POST", "/api/workspaces/{id}/transfer-ownership", Person, WorkspaceInPath, "the workspace's owner (identity)").doc("workspaces", "Hand the workspace to another member").json(schema::<account::Transfer>),
    rule("GET", "/api/workspaces/{id}/members", Person, WorkspaceInPath, MEMBERS).doc("workspaces", "Members, humans and bots"),
    rule("POST", "/api/workspaces/{id}/invites", Person, WorkspaceInPath, MANAGERS).doc("workspaces", "A one-time invite link").status(201),
    rule("POST", "/api/invites/{token}/accept", Person, Own, "the invited human").doc("workspaces", "Join through an invite"),
    rule("GET", "/api/event-types", Scopes(&[]), Own, "anyone signed in").doc("realtime", "Every event type and whether it is stored"),
    // Bots (API.md §10).
    rule("GET", "/api/workspaces/{id}/bots", Person, WorkspaceInPath, MEMBERS).doc("bots", "Bots installed in a workspace"),
    rule("POST", "/api/workspaces/{id}/bots", Person, WorkspaceInPath, "managers for a service bot; any member for a bot they own (identity)").doc("bots", "Create a bot and its first token (shown once)").status(201).json(schema::<bots::CreateBotBody>),
    rule("GET", "/api/workspaces/{id}/bots/{bot_id}/tokens", Person, WorkspaceInPath, BOT_MANAGERS).doc("bots", "A bot's tokens (never the raw token)"),
    rule("POST", "/api/workspaces/{id}/bots/{bot_id}/tokens", Person, WorkspaceInPath, BOT_MANAGERS).doc("bots", "Mint another token (shown once)").status(201).json(schema::<bots::MintBody>),
    rule("POST", "/api/workspaces/{id}/bots/{bot_id}/setup-codes", Person, WorkspaceInPath, BOT_MANAGERS).doc("bots", "A one-time setup code a runtime claims for a token").status(201).json(schema::<bots::SetupCodeBody>),
    rule("GET", "/api/workspaces/{id}/bots/{bot_id}/setup-codes", Person, WorkspaceInPath, BOT_MANAGERS).doc("bots", "A bot's setup codes"),
    rule("DELETE", "/api/workspaces/{id}/bots/{bot_id}/membership", Person, WorkspaceInPath, "managers, or the bot's owner (identity)").doc("bots", "Remove a bot from the workspace; its tokens stop at once").status(204),
    rule("GET", "/api/workspaces/{id}/audit-log", Person, WorkspaceInPath, MANAGERS).doc("bots", "Who did what to bots and tokens, newest first").query(schema::<bots::AuditQuery>),
    rule("GET", "/api/workspaces/{id}/bot-commands", Scopes(&[WorkspacesRead]), WorkspaceInPath, MEMBERS).doc("bots", "Slash commands bots offer"),
    rule("POST", "/api/bot-setup-codes/claim", Anyone, Own, "whoever holds the code (once, before it expires)").doc("bots", "Exchange a setup code for a token").json(schema::<bots::ClaimBody>),
    rule("POST", "/api/bot-setup-codes/{id}/revoke", Person, Own, BOT_MANAGERS).doc("bots", "Revoke an unclaimed setup code"),
    rule("POST", "/api/bot-tokens/{token_id}/revoke", Person, Own, BOT_MANAGERS).doc("bots", "Revoke a token; the next request with it is 401"),
    rule("POST", "/api/bot-tokens/{token_id}/rotate", Person, Own, "the bot's manager or owner; never someone else's user-owned bot (identity)").doc("bots", "Replace a token, the old one working for a grace period").status(201).json(schema::<bots::RotateBody>),
    rule("PUT", "/api/bots/self/commands", Scopes(&[CommandsWrite]), Own, "the bot itself (identity)").doc("bots", "Replace the calling bot's slash commands").json(schema::<bots::CommandsBody>),
    rule("GET", "/api/bots/{bot_id}/tokens", Person, Own, BOT_MANAGERS).doc("bots", "A bot's tokens (legacy path)"),
    rule("POST", "/api/bots/{bot_id}/tokens", Person, Own, BOT_MANAGERS).doc("bots", "Mint a token (legacy path)").status(201).json(schema::<bots::MintBody>),
    rule("DELETE", "/api/bots/{bot_id}", Person, Own, "managers, or the bot's owner (identity)").doc("bots", "Delete a bot: removed, tokens revoked, commands cleared"),
    // Event subscriptions (upstream's eventSubscriptions.*): webhooks.
    rule("GET", "/api/workspaces/{id}/event-subscriptions", Scopes(&[EventSubscriptionsWrite]), WorkspaceInPath, HOOK_MANAGERS).doc("webhooks", "The live event subscriptions you may manage").query(schema::<event_subscriptions::ListQuery>),
    rule("POST", "/api/workspaces/{id}/event-subscriptions", Scopes(&[EventSubscriptionsWrite]), WorkspaceInPath, HOOK_MANAGERS).doc("webhooks", "Push a bot's (or your) events to a URL; the signing secret is shown once").status(201).json(schema::<event_subscriptions::CreateBody>),
    rule("GET", "/api/event-subscriptions/{id}", Scopes(&[EventSubscriptionsWrite]), ResourceInPath, HOOK_MANAGERS).doc("webhooks", "One event subscription, with its queue"),
    rule("POST", "/api/event-subscriptions/{id}/revoke", Scopes(&[EventSubscriptionsWrite]), ResourceInPath, HOOK_MANAGERS).doc("webhooks", "Stop an event subscription for good"),
    rule("POST", "/api/event-subscriptions/{id}/rotate-secret", Scopes(&[EventSubscriptionsWrite]), ResourceInPath, HOOK_MANAGERS).doc("webhooks", "A new signing secret; the old one signs beside it for the overlap").json(schema::<event_subscriptions::RotateBody>),
    rule("GET", "/api/event-subscriptions/{id}/deliveries", Scopes(&[EventSubscriptionsWrite]), ResourceInPath, HOOK_MANAGERS).doc("webhooks", "The delivery log, newest first (kept 7 days)").query(schema::<event_subscriptions::DeliveriesQuery>),
    rule("POST", "/api/event-subscriptions/{id}/redeliver", Scopes(&[EventSubscriptionsWrite]), ResourceInPath, HOOK_MANAGERS).doc("webhooks", "Deliver one event, or every event after a cursor, again").status(202).json(schema::<event_subscriptions::RedeliverBody>),
    rule("POST", "/api/event-subscriptions/{id}/test", Scopes(&[EventSubscriptionsWrite]), ResourceInPath, HOOK_MANAGERS).doc("webhooks", "Send a webhook.test event to the endpoint").status(202),
    rule("GET", "/api/workspaces/{id}/incoming-webhooks", Scopes(&[EventSubscriptionsWrite]), WorkspaceInPath, HOOK_MANAGERS).doc("webhooks", "The live incoming webhooks you may manage").query(schema::<crate::routes::BotFilter>),
    rule("POST", "/api/workspaces/{id}/incoming-webhooks", Scopes(&[EventSubscriptionsWrite]), WorkspaceInPath, HOOK_MANAGERS).doc("webhooks", "A URL that posts into a channel as a bot; its secret is shown once").status(201).json(schema::<incoming_webhooks::CreateBody>),
    rule("POST", "/api/incoming-webhooks/{id}/revoke", Scopes(&[EventSubscriptionsWrite]), ResourceInPath, HOOK_MANAGERS).doc("webhooks", "Revoke an incoming webhook: its URL is refused from now on"),
    // App installations (upstream's apps.*): identity.
    rule("GET", "/api/workspaces/{id}/app-installations", Person, WorkspaceInPath, MEMBERS).doc("apps", "The workspace's live app installations, by slug"),
    rule("POST", "/api/workspaces/{id}/app-installations", Person, WorkspaceInPath, MANAGERS).doc("apps", "Install an app: bind its slug to one of the workspace's bots (audited)").status(201).json(schema::<app_installations::InstallBody>),
    rule("POST", "/api/app-installations/{id}/revoke", Person, Own, MANAGERS).doc("apps", "Revoke an installation; optionally the bot's tokens too, or the bot itself (audited)").json(schema::<app_installations::RevokeBody>),
    // Slash commands (upstream's slashCommands.*): webhooks.
    rule("GET", "/api/workspaces/{id}/slash-commands", Scopes(&[WorkspacesRead]), WorkspaceInPath, "members (webhooks)").doc("commands", "The workspace's slash commands, never their secrets").query(schema::<crate::routes::BotFilter>),
    rule("POST", "/api/workspaces/{id}/slash-commands", BotScopes(&[CommandsWrite]), WorkspaceInPath, COMMAND_MANAGERS).doc("commands", "Register a /command answered by a bot's URL; the signing secret is shown once").status(201).json(schema::<slash_commands::CreateBody>),
    rule("POST", "/api/slash-commands/{id}/revoke", BotScopes(&[CommandsWrite]), ResourceInPath, COMMAND_MANAGERS).doc("commands", "Remove a slash command"),
    rule("POST", "/api/slash-commands/{id}/rotate-secret", BotScopes(&[CommandsWrite]), ResourceInPath, COMMAND_MANAGERS).doc("commands", "A new signing secret, shown once; the old one signs beside it for 24 hours"),
    rule("GET", "/api/slash-commands/{id}/invocations", BotScopes(&[CommandsWrite]), ResourceInPath, COMMAND_MANAGERS).doc("commands", "The command's invocations, newest first: status, answer, error").query(schema::<command_invocations::ListQuery>),
    rule("POST", "/api/hooks/slash/{id}", Scopes(&[MessagesWrite]), ResourceInPath, "members who can read the channel or DM (messaging, webhooks)").doc("commands", "Invoke a slash command where it was typed: form or JSON {command, text}; the bot answers within 3 s").json(schema::<command_invocations::InvokeBody>),
    rule("POST", "/api/command-responses/{token}", Anyone, Own, "whoever holds the invocation's response token: 15 minutes, 5 responses (webhooks, messaging)").doc("commands", "A bot's follow-up to an invocation (or a socket invocation's acknowledgement): {response_type?, text?}, or {replace_original, text?, actions?} for a press").json(schema::<command_invocations::ResponseBody>),
    rule("PATCH", "/api/command-responses/{token}", Anyone, Own, "whoever holds a button press's response token: 15 minutes, 5 responses (webhooks, messaging)").doc("commands", "Edit the pressed message: {text?, actions?} (as POST with replace_original)").json(schema::<command_invocations::ResponseBody>),
    // Interactive actions (issue 26): webhooks, messaging.
    rule("POST", "/api/messages/{id}/actions/{action_id}", Scopes(&[MessagesWrite]), ResourceInPath, "members who can read the message; others get 403 and the bot never hears of it (messaging, webhooks)").doc("actions", "Press a button under a bot's message; the bot answers within 3 s"),
    rule("PUT", "/api/workspaces/{id}/bots/{bot_id}/interactivity", BotScopes(&[CommandsWrite]), WorkspaceInPath, COMMAND_MANAGERS).doc("actions", "Where the bot's button presses go: a signed request URL (secret shown once) or its socket").json(schema::<message_actions::InteractivityBody>),
    rule("GET", "/api/workspaces/{id}/bots/{bot_id}/interactivity", BotScopes(&[CommandsWrite]), WorkspaceInPath, COMMAND_MANAGERS).doc("actions", "The bot's interactivity endpoint, never its secret"),
    rule("DELETE", "/api/workspaces/{id}/bots/{bot_id}/interactivity", BotScopes(&[CommandsWrite]), WorkspaceInPath, COMMAND_MANAGERS).doc("actions", "Remove it: presses go over the bot's socket again"),
    rule("POST", "/api/workspaces/{id}/bots/{bot_id}/interactivity/rotate-secret", BotScopes(&[CommandsWrite]), WorkspaceInPath, COMMAND_MANAGERS).doc("actions", "A new signing secret, shown once; the old one signs beside it for 24 hours"),
    rule("GET", "/api/workspaces/{id}/bots/{bot_id}/interactivity/invocations", BotScopes(&[CommandsWrite]), WorkspaceInPath, COMMAND_MANAGERS).doc("actions", "The bot's button presses, newest first: status, answer, error").query(schema::<command_invocations::ListQuery>),
    rule("POST", "/api/hooks/{id}/{secret}", Anyone, Own, "whoever holds the URL, while its bot could post (webhooks, messaging); rate limited per URL").doc("webhooks", "Post a message as the hook's bot: {text} or {body}").status(201).json(schema::<incoming_webhooks::PostBody>),
    // Channels (API.md §3).
    rule("GET", "/api/workspaces/{id}/channels", Scopes(&[ChannelsRead]), WorkspaceInPath, "members; private channels only for their members (messaging)").doc("channels", "Channels the caller can see"),
    rule("POST", "/api/workspaces/{id}/channels", Scopes(&[ChannelsWrite]), WorkspaceInPath, MEMBERS).doc("channels", "Create a channel").status(201).json(schema::<channels::CreateChannel>),
    rule("PATCH", "/api/channels/{id}", Scopes(&[ChannelsWrite]), ResourceInPath, "members who can see the channel; managed labels by their creator kind (messaging)").doc("channels", "Rename, archive or relabel a channel").json(schema::<channels::UpdateChannel>),
    rule("POST", "/api/channels/{id}/read", Scopes(&[MessagesRead]), ResourceInPath, CHANNEL_READERS).doc("channels", "Mark a channel read up to a seq").json(schema::<channels::ReadBody>),
    // Messages and threads (API.md §4, §5).
    rule("GET", "/api/channels/{id}/messages", Scopes(&[MessagesRead]), ResourceInPath, CHANNEL_READERS).doc("messages", "A page of a channel's messages").query(schema::<messages::PageQuery>),
    rule("POST", "/api/channels/{id}/messages", Scopes(&[MessagesWrite]), ResourceInPath, CHANNEL_READERS).doc("messages", "Post a message (idempotent by nonce)").status(201).json(schema::<messages::NewMessage>),
    rule("GET", "/api/messages/by-nonce", Scopes(&[MessagesRead]), WorkspaceInQuery, "the caller's own messages (messaging)").doc("messages", "Find the message a nonce created").query(schema::<messages::NonceQuery>),
    rule("GET", "/api/messages/{id}", Scopes(&[MessagesRead]), ResourceInPath, CHANNEL_READERS).doc("messages", "One message"),
    rule("PATCH", "/api/messages/{id}", Scopes(&[MessagesWrite]), ResourceInPath, "the message's author (messaging)").doc("messages", "Edit a message").json(schema::<messages::EditBody>),
    rule("DELETE", "/api/messages/{id}", Scopes(&[MessagesWrite]), ResourceInPath, AUTHOR).doc("messages", "Delete a message"),
    rule("GET", "/api/messages/{id}/thread", Scopes(&[ThreadsRead]), ResourceInPath, CHANNEL_READERS).doc("messages", "A thread: its root and a page of replies").query(schema::<messages::ThreadQuery>),
    rule("POST", "/api/messages/{id}/thread/replies", Scopes(&[ThreadsWrite]), ResourceInPath, CHANNEL_READERS).doc("messages", "Reply in a thread").status(201).json(schema::<messages::NewMessage>),
    rule("POST", "/api/messages/{id}/reactions", Scopes(&[MessagesWrite]), ResourceInPath, CHANNEL_READERS).doc("messages", "Add a reaction").status(201).json(schema::<messages::ReactionBody>),
    rule("DELETE", "/api/messages/{id}/reactions/{emoji}", Scopes(&[MessagesWrite]), ResourceInPath, "whoever added the reaction (messaging)").doc("messages", "Remove your reaction"),
    rule("POST", "/api/messages/{id}/attachments", Scopes(&[UploadsWrite, MessagesWrite]), ResourceInPath, "the message's author (messaging)").doc("uploads", "Attach an upload to a message").json(schema::<uploads::AttachBody>),
    // Direct messages (API.md §6).
    rule("GET", "/api/dms", Scopes(&[DmsRead]), WorkspaceInQuery, DM_MEMBERS).doc("dms", "The caller's DMs in a workspace").query(schema::<dms::WorkspaceQuery>),
    rule("POST", "/api/dms", Scopes(&[DmsWrite]), WorkspaceInBody, "members, with other members of the same workspace (messaging)").doc("dms", "Open (or find) a DM").status(201).json(schema::<dms::OpenBody>),
    rule("GET", "/api/dms/{id}", Scopes(&[DmsRead]), ResourceInPath, DM_MEMBERS).doc("dms", "One DM"),
    rule("DELETE", "/api/dms/{id}", Person, ResourceInPath, DM_MEMBERS).doc("dms", "Hide a DM from your list (until it gets a message)"),
    rule("GET", "/api/dms/{id}/messages", Scopes(&[DmsRead]), ResourceInPath, DM_MEMBERS).doc("dms", "A page of a DM's messages").query(schema::<messages::PageQuery>),
    rule("POST", "/api/dms/{id}/messages", Scopes(&[DmsWrite]), ResourceInPath, DM_MEMBERS).doc("dms", "Post in a DM").status(201).json(schema::<messages::NewMessage>),
    rule("POST", "/api/dms/{id}/read", Scopes(&[DmsRead]), ResourceInPath, DM_MEMBERS).doc("dms", "Mark a DM read up to a seq").json(schema::<channels::ReadBody>),
    rule("POST", "/api/dms/{id}/open", Person, ResourceInPath, DM_MEMBERS).doc("dms", "Show a hidden DM again"),
    // Uploads (API.md §7).
    rule("POST", "/api/uploads", Scopes(&[UploadsWrite]), WorkspaceInQuery, MEMBERS).doc("uploads", "Upload a file (idempotent by nonce)").status(201).multipart().query(schema::<uploads::UploadQuery>),
    rule("GET", "/api/uploads/by-nonce", Scopes(&[UploadsWrite]), WorkspaceInQuery, "the uploader (messaging)").doc("uploads", "Find the upload a nonce created").query(schema::<uploads::UploadQuery>),
    rule("GET", "/api/uploads/{id}", Scopes(&[MessagesRead]), ResourceInPath, "members who can see a message it is attached to, or its uploader (messaging)").doc("uploads", "Download a file"),
    // Search (API.md §8).
    rule("GET", "/api/search", Scopes(&[MessagesRead]), WorkspaceInQuery, "hits only from channels and DMs the caller can see (messaging)").doc("search", "Full-text search").query(schema::<search::SearchQuery>),
    // Realtime (API.md §9).
    rule("GET", "/api/realtime/events", Scopes(&[RealtimeRead]), WorkspaceInQuery, "events of channels and DMs the caller can see (realtime)").doc("realtime", "Pull events after a cursor").query(schema::<realtime::EventsQuery>),
    rule("GET", "/api/realtime/ws", Scopes(&[RealtimeRead]), WorkspaceInQuery, "events of channels and DMs the caller can see (realtime)").doc("realtime", "WebSocket: replay after a cursor, then live").status(101).applied_by_handler().query(schema::<realtime::SocketQuery>),
    rule("POST", "/api/realtime/ephemeral", Scopes(&[MessagesWrite]), WorkspaceInBody, "members; to a DM also dms:write and DM membership; agent.progress only bots (gateway, messaging)").doc("realtime", "Typing, presence or agent progress to live sockets only").status(202).json(schema::<realtime::EphemeralBody>),
    // The web app, the document and operations: no credential.
    rule("GET", "/api/openapi.json", Anyone, Own, "anyone").doc("ops", "This OpenAPI document"),
    rule("GET", "/", Anyone, Own, "anyone (the app signs in through the API)").doc("web", "The web app"),
    rule("GET", "/app.js", Anyone, Own, "anyone").doc("web", "The web app's script"),
    rule("GET", "/app.css", Anyone, Own, "anyone").doc("web", "The web app's styles"),
    rule("GET", "/healthz", Anyone, Own, "anyone").doc("ops", "Liveness"),
    rule("GET", "/readyz", Anyone, Own, "anyone").doc("ops", "Readiness: every service answers"),
    rule("GET", "/metrics", Anyone, Own, "anyone who reaches the port (keep it private)").doc("ops", "Prometheus metrics"),
];

/// The rule of a route (method and path template as in [`RULES`]).
pub fn rule_for(method: &str, path: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|rule| rule.method == method && rule.path == path)
}

/// The state [`enforce`] needs: the app and the route's rule.
#[derive(Clone)]
pub struct Guard {
    pub state: AppState,
    pub rule: &'static Rule,
}

/// Applies a route's rule before its handler: the principal it resolves is
/// handed to the handler through the request's extensions.
pub async fn enforce(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    match authorize(&guard.state, guard.rule, &mut parts).await {
        Ok(Some(principal)) => {
            parts.extensions.insert(principal);
        }
        Ok(None) => {}
        Err(error) => return error.into_response(),
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Authenticates the caller of a route and checks its rule. `None` for
/// routes anyone may call. On a route that names its workspace, the
/// principal answered is scoped to it: its `workspace_id` is the target's
/// id, which handlers use instead of resolving the name again.
async fn authorize(
    state: &AppState,
    rule: &Rule,
    parts: &mut Parts,
) -> Result<Option<Arc<Principal>>, ApiError> {
    if matches!(rule.caller, Caller::Anyone) {
        return Ok(None);
    }
    let token = Arc::new(crate::cookies::credential(&parts.method, &parts.headers)?);
    // The credential itself first: nothing is looked up for a caller who
    // is not signed in, so 401 never depends on whether an id exists.
    let signed_in = auth::authenticate(state, token.clone(), "").await?;
    let named = named_workspace(rule.target, parts).await;
    let principal = if !signed_in.is_session() {
        signed_in
    } else if let Some(workspace) = &named {
        auth::authenticate(state, token, workspace).await?
    } else if let Some(workspace) = located_workspace(state, rule.target, parts).await? {
        match auth::authenticate(state, token, &workspace).await {
            // A resource in a workspace the human is not in stays invisible.
            Err(error) if error.status == StatusCode::FORBIDDEN => {
                return Err(ApiError::not_found("not found"));
            }
            other => other?,
        }
    } else {
        signed_in
    };
    rule.admits(&principal)?;
    if matches!(
        rule.target,
        Target::WorkspaceInPath | Target::WorkspaceInQuery
    ) {
        let workspace = named.ok_or_else(|| ApiError::bad_request("workspace_id is required"))?;
        // A session was scoped to it above; a bot token must be bound to it.
        if !principal.is_session() {
            caller_workspace(state, &principal, &workspace).await?;
        }
    }
    Ok(Some(principal))
}

/// The workspace id or slug a route names in its path or query, if any.
async fn named_workspace(target: Target, parts: &mut Parts) -> Option<String> {
    match target {
        Target::WorkspaceInPath => path_id(parts).await,
        Target::WorkspaceInQuery => parts
            .uri
            .query()
            .and_then(|query| {
                url::form_urlencoded::parse(query.as_bytes())
                    .find(|(name, _)| name == "workspace_id")
                    .map(|(_, value)| value.into_owned())
            })
            .filter(|workspace| !workspace.is_empty()),
        _ => None,
    }
}

/// For a route whose `{id}` is a channel, message, DM or upload: the
/// workspace it lives in.
async fn located_workspace(
    state: &AppState,
    target: Target,
    parts: &mut Parts,
) -> Result<Option<String>, ApiError> {
    if target != Target::ResourceInPath {
        return Ok(None);
    }
    match path_id(parts).await {
        Some(id)
            if [
                ids::CHANNEL,
                ids::MESSAGE,
                ids::DM,
                ids::UPLOAD,
                ids::EVENT_SUBSCRIPTION,
                ids::INCOMING_HOOK,
                ids::SLASH_COMMAND,
            ]
            .iter()
            .any(|prefix| ids::has_prefix(&id, prefix)) =>
        {
            Ok(Some(locate(state, &id).await?))
        }
        // Not an id at all: the handler's service answers for it.
        _ => Ok(None),
    }
}

/// `{id}` of the matched route.
async fn path_id(parts: &mut Parts) -> Option<String> {
    let params = axum::extract::RawPathParams::from_request_parts(parts, &())
        .await
        .ok()?;
    params
        .iter()
        .find(|(name, _)| *name == "id")
        .map(|(_, value)| value.to_owned())
}

/// The most resource locations a gateway keeps (the least used go first
/// beyond it); a resource never moves to another workspace, so entries
/// never go stale.
pub const LOCATIONS_LIMIT: u64 = 100_000;

/// The workspace a resource lives in (404 when unknown).
pub async fn locate(state: &AppState, id: &str) -> Result<String, ApiError> {
    if let Some(found) = state.locations.get(id) {
        return Ok(found);
    }
    // Event subscriptions, incoming webhooks and slash commands live in the
    // webhooks service.
    if [
        ids::EVENT_SUBSCRIPTION,
        ids::INCOMING_HOOK,
        ids::SLASH_COMMAND,
    ]
    .iter()
    .any(|prefix| ids::has_prefix(id, prefix))
    {
        let request = clickclack_proto::webhooks::SubscriptionRef { id: id.to_owned() };
        let found = state
            .webhooks()
            .locate_subscription(request)
            .await?
            .into_inner()
            .workspace_id;
        state.locations.insert(id.to_owned(), found.clone());
        return Ok(found);
    }
    // An id of no resource kind names nothing: no need to ask.
    if clickclack_common::ids::ResourceId::parse(id).is_none() {
        return Err(ApiError::not_found("not found"));
    }
    // The gateway asks as itself: the answer is a workspace id, and the
    // real call is membership-checked after it.
    let request = clickclack_proto::messaging::LocateResourceRequest { id: id.to_owned() };
    let found = state
        .messaging()
        .locate_resource(request)
        .await?
        .into_inner()
        .workspace_id;
    state.locations.insert(id.to_owned(), found.clone());
    Ok(found)
}

/// Resolves a workspace id or slug the caller named in a body and checks
/// the caller may act there: a bot token must be bound to it (403
/// otherwise); a session is re-scoped to it, which checks membership.
/// Returns the workspace id and the principal to forward.
pub async fn scope_to_workspace(
    state: &AppState,
    principal: Arc<Principal>,
    key: &str,
) -> Result<(String, Arc<Principal>), ApiError> {
    if key.is_empty() {
        return Err(ApiError::bad_request("workspace_id is required"));
    }
    if !principal.is_session() {
        let workspace_id = caller_workspace(state, &principal, key).await?;
        return Ok((workspace_id, principal));
    }
    let principal = if key == principal.workspace_id {
        principal
    } else {
        auth::authenticate(state, principal.bearer().clone(), key).await?
    };
    // A session scoped to `key` carries its resolved id.
    Ok((principal.workspace_id.clone(), principal))
}

/// Resolves a workspace id or slug the caller named and checks the
/// caller's principal is scoped to it (403 otherwise).
pub async fn caller_workspace(
    state: &AppState,
    principal: &Principal,
    key: &str,
) -> Result<String, ApiError> {
    if key.is_empty() {
        return Err(ApiError::bad_request("workspace_id is required"));
    }
    if key == principal.workspace_id {
        return Ok(key.to_owned());
    }
    let workspace = workspaces::fetch(state, key).await?;
    principal.require_workspace(&workspace.id)?;
    Ok(workspace.id)
}

/// Handlers receive the principal [`enforce`] resolved.
impl FromRequestParts<AppState> for Arc<Principal> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Arc<Principal>>()
            .cloned()
            .ok_or_else(|| {
                // A route without a credential in its rule asked for a caller:
                // a mistake in the table, not the client's.
                tracing::error!(path = %parts.uri.path(), "route has no authenticating rule");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            })
    }
}
