-- App installations (upstream's shape): an app, named by its slug, bound to
-- one of the workspace's bots, with the app's own configuration. Revoking
-- keeps the row (revoked_at) for the audit trail; one live installation of
-- an app per workspace.
CREATE TABLE app_installations (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    app_slug     TEXT NOT NULL,
    display_name TEXT NOT NULL,
    bot_user_id  TEXT NOT NULL REFERENCES users (id),
    config       JSONB NOT NULL DEFAULT '{}',
    created_by   TEXT REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX app_installations_live_slug
    ON app_installations (workspace_id, app_slug) WHERE revoked_at IS NULL;
