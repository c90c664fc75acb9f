-- Issue 11: a quoting message keeps what it quoted (the body at the time and
-- its author); a DM member can hide a conversation until its next message.
ALTER TABLE messages ADD COLUMN quoted_body_snapshot TEXT;
ALTER TABLE messages ADD COLUMN quoted_author_id TEXT;
ALTER TABLE conversation_members ADD COLUMN hidden_at TIMESTAMPTZ;
