-- The durable event log. Positions come from the single head row, bumped
-- under its row lock, so they commit in order: a reader that has seen
-- position N can never later find a committed event below N.
CREATE TABLE log_head (
    only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
    position BIGINT NOT NULL
);
INSERT INTO log_head (only_row, position) VALUES (true, 0);

CREATE TABLE events (
    position     BIGINT PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    channel_id   TEXT,
    seq          BIGINT,
    -- Users who may see the event; empty means the whole workspace.
    audience     TEXT[] NOT NULL DEFAULT '{}',
    payload      JSONB NOT NULL,
    created_at   TEXT NOT NULL,
    appended_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX events_workspace_position_idx ON events (workspace_id, position);
