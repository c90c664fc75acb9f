ALTER TABLE conversation_members DROP COLUMN hidden_at;
ALTER TABLE messages DROP COLUMN quoted_author_id;
ALTER TABLE messages DROP COLUMN quoted_body_snapshot;
