-- The buttons a bot puts under its message (issue 26): a JSON array of
-- {id, label, style, value}, at most 5, checked before they are stored.
-- A deleted message loses them with its body.
ALTER TABLE messages ADD COLUMN actions JSONB NOT NULL DEFAULT '[]'::jsonb;
