DROP TABLE bot_commands;
DROP TABLE audit_log;
ALTER TABLE bot_tokens DROP COLUMN replaces_token_id;
DROP TABLE sessions;
DROP TABLE magic_links;
