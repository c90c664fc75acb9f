-- Who may see each event (DM members, or the reader of a read receipt;
-- empty means the whole workspace), and the cursor realtime gave it.
ALTER TABLE outbox
    ADD COLUMN audience TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN cursor TEXT;
