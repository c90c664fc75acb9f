-- Issue 11: command rows get an id and a creation time; workspaces can be
-- soft-deleted; bot setup codes and workspace invites (both stored hashed).

ALTER TABLE bot_commands ADD COLUMN id TEXT;
ALTER TABLE bot_commands ADD COLUMN created_at TIMESTAMPTZ NOT NULL DEFAULT now();
UPDATE bot_commands
   SET id = 'bcm_' || substr(md5(bot_user_id || ':' || workspace_id || ':' || command), 1, 26);
ALTER TABLE bot_commands ALTER COLUMN id SET NOT NULL;
ALTER TABLE bot_commands ADD CONSTRAINT bot_commands_id_key UNIQUE (id);

ALTER TABLE workspaces ADD COLUMN deleted_at TIMESTAMPTZ;

CREATE TABLE bot_setup_codes (
    id               TEXT PRIMARY KEY,
    code_hash        BYTEA NOT NULL UNIQUE,
    bot_user_id      TEXT NOT NULL REFERENCES users (id),
    workspace_id     TEXT NOT NULL REFERENCES workspaces (id),
    token_name       TEXT NOT NULL,
    scopes           TEXT[] NOT NULL,
    defaults         JSONB NOT NULL,
    created_by       TEXT REFERENCES users (id),
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    claimed_at       TIMESTAMPTZ,
    claimed_token_id TEXT
);
CREATE INDEX bot_setup_codes_bot ON bot_setup_codes (bot_user_id);

CREATE TABLE workspace_invites (
    id           TEXT PRIMARY KEY,
    token_hash   BYTEA NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    created_by   TEXT NOT NULL REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    accepted_by  TEXT REFERENCES users (id),
    accepted_at  TIMESTAMPTZ
);
