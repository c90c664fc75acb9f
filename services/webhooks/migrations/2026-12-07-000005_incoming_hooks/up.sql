-- Incoming webhooks: POST {url} posts a message into one channel as a bot.
-- The URL's secret segment is kept only as its SHA-256.
CREATE TABLE incoming_hooks (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    bot_user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    created_by TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX incoming_hooks_of_workspace ON incoming_hooks (workspace_id, created_at);
