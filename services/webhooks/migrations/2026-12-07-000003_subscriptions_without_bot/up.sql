-- A subscription made without a bot (the upstream SDK's create takes none)
-- delivers what the member who made it can read: its reader is then
-- created_by. One of the two always names the reader.
ALTER TABLE subscriptions ALTER COLUMN bot_user_id DROP NOT NULL;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_have_a_reader
    CHECK (bot_user_id IS NOT NULL OR created_by IS NOT NULL);
-- Listing a workspace's subscriptions, and counting them against its quota.
CREATE INDEX subscriptions_of_workspace ON subscriptions (workspace_id, created_at);
