-- How far the feeder has read realtime's log: every durable event up to
-- this cursor has been queued for each subscription that wanted it. One
-- row; replicas that feed at once only ever move it forward.
CREATE TABLE feed_position (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    cursor TEXT NOT NULL,
    position BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
