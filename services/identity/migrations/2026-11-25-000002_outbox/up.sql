-- Identity's events (member.joined, member.removed, workspace.updated),
-- written in the same transaction as the change and delivered to realtime.
CREATE TABLE outbox (
    position     BIGSERIAL PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    channel_id   TEXT,
    seq          BIGINT,
    payload      JSONB NOT NULL,
    audience     TEXT[] NOT NULL DEFAULT '{}',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at TIMESTAMPTZ,
    cursor       TEXT
);
CREATE INDEX outbox_undelivered_idx ON outbox (position) WHERE delivered_at IS NULL;
