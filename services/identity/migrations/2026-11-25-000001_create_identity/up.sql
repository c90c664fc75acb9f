-- Identity owns people, bots, workspaces and who belongs where.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('human', 'bot')),
    display_name  TEXT NOT NULL,
    handle        TEXT NOT NULL,
    email         TEXT UNIQUE,
    avatar_url    TEXT NOT NULL DEFAULT '',
    owner_user_id TEXT REFERENCES users (id),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Only bots have owners, and only humans have emails.
    CHECK (kind = 'bot' OR owner_user_id IS NULL),
    CHECK (kind = 'human' OR email IS NULL)
);

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    icon_url   TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The handle is copied in so that handles are unique per workspace.
CREATE TABLE workspace_members (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    role         TEXT NOT NULL CHECK (role IN ('owner', 'moderator', 'member', 'guest', 'bot')),
    handle       TEXT NOT NULL,
    joined_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id),
    UNIQUE (workspace_id, handle)
);
CREATE INDEX workspace_members_user_idx ON workspace_members (user_id);

-- A bot is a kind='bot' user installed into one workspace.
CREATE TABLE bots (
    user_id      TEXT PRIMARY KEY REFERENCES users (id),
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    created_by   TEXT REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX bots_workspace_idx ON bots (workspace_id);

-- Only the SHA-256 of a token is kept; the raw value is shown once.
CREATE TABLE bot_tokens (
    id           TEXT PRIMARY KEY,
    bot_user_id  TEXT NOT NULL REFERENCES users (id),
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    scopes       TEXT[] NOT NULL,
    created_by   TEXT REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX bot_tokens_bot_idx ON bot_tokens (bot_user_id, workspace_id);
