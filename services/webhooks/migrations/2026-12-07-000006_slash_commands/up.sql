-- Slash commands: a `/name` a workspace's members type, answered by a
-- bot, either at its request URL (signed POST) or over its realtime socket.
-- The signing secret is sealed (AES-GCM under the internal key, like a
-- subscription's) so it can still sign.
CREATE TABLE slash_commands (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    bot_user_id TEXT NOT NULL,
    command TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- 'url' (POSTed to callback_url) or 'socket' (a command.invoked event
    -- to the bot; callback_url is empty).
    delivery TEXT NOT NULL DEFAULT 'url' CHECK (delivery IN ('url', 'socket')),
    callback_url TEXT NOT NULL,
    sealed_secret BYTEA NOT NULL,
    previous_sealed_secret BYTEA,
    previous_secret_until TIMESTAMPTZ,
    created_by TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);
-- One live command of a name per workspace.
CREATE UNIQUE INDEX slash_commands_live_name
    ON slash_commands (workspace_id, command) WHERE revoked_at IS NULL;

-- Every invocation, for the bot's managers (like the delivery log), and
-- the one-use-at-a-time response token it handed the bot (stored only as
-- its SHA-256 hash).
CREATE TABLE slash_command_invocations (
    id TEXT PRIMARY KEY,
    command_id TEXT NOT NULL REFERENCES slash_commands (id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL,
    channel_id TEXT,
    direct_conversation_id TEXT,
    thread_root_id TEXT,
    user_id TEXT NOT NULL,
    text TEXT NOT NULL,
    response_token_hash BYTEA NOT NULL UNIQUE,
    -- The token answers follow-ups until then, at most 5 times.
    responses_until TIMESTAMPTZ NOT NULL,
    responses_used INTEGER NOT NULL DEFAULT 0,
    -- When the bot acknowledged (an HTTP answer, or over the socket).
    acked_at TIMESTAMPTZ,
    -- What came of it: the bot's HTTP status (url delivery), the first
    -- bytes of its answer, and why it failed, in words.
    response_status INTEGER,
    response_body TEXT NOT NULL DEFAULT '',
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at TIMESTAMPTZ
);
CREATE INDEX slash_command_invocations_by_command
    ON slash_command_invocations (command_id, created_at DESC);
