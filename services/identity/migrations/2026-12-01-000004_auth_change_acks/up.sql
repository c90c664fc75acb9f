-- Read-your-writes credential changes (docs/architecture.md).
--
-- Every authentication change takes the next number from this single row,
-- bumped under its row lock, so numbers follow commit order, the order in
-- which Postgres delivers the NOTIFY that carries them.
CREATE TABLE auth_change_head (
    only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
    seq      BIGINT NOT NULL
);
INSERT INTO auth_change_head (only_row, seq) VALUES (true, 0);

-- One row per gateway watching the change stream (through any identity
-- replica): the newest change it has applied to its cache, and until when
-- it may serve cached principals without being heard from again. A change
-- is answered once every watcher with a live lease has applied it.
CREATE TABLE auth_watchers (
    id          TEXT PRIMARY KEY,
    applied_seq BIGINT NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL
);
