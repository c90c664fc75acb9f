-- Bot lifecycle: human sessions, magic links, scheduled revocation for
-- rotation, the audit log and bots' command menus.

-- A one-time sign-in link. Only the SHA-256 of the mgt_ secret is kept.
CREATE TABLE magic_links (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    token_hash  BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    consumed_at TIMESTAMPTZ
);

-- A human's sign-in. Only the SHA-256 of the sst_ secret is kept.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    token_hash   BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Rotation: the new token remembers the one it replaces. The old token's
-- revoked_at is set to the end of the grace period (a time in the future
-- until then); authentication treats revoked_at <= now() as revoked.
ALTER TABLE bot_tokens ADD COLUMN replaces_token_id TEXT REFERENCES bot_tokens (id);

-- Who did what to bots, tokens and memberships. actor_user_id is NULL for an
-- operator at the admin CLI.
CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
    actor_user_id TEXT REFERENCES users (id),
    action        TEXT NOT NULL,
    target_id     TEXT NOT NULL,
    detail        JSONB NOT NULL DEFAULT '{}',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_workspace_idx ON audit_log (workspace_id, created_at DESC, id DESC);

-- A bot's slash-command menu in its workspace, in the order it was given.
CREATE TABLE bot_commands (
    bot_user_id  TEXT NOT NULL REFERENCES users (id),
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    position     INTEGER NOT NULL,
    command      TEXT NOT NULL,
    description  TEXT NOT NULL,
    args_hint    TEXT,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (bot_user_id, workspace_id, command)
);
CREATE INDEX bot_commands_workspace_idx ON bot_commands (workspace_id);
